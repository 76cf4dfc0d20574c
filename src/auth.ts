// Token → identity. Tokens are issued elsewhere (no sign-up or login here); we verify HS256 JWTs
// whose `sub` is the caller's id and `role` one of driver | rider | admin. `exp` is required;
// `iss` and `aud` are checked when JWT_ISSUER / JWT_AUDIENCE are set. The caller's id always
// comes from the token, never from arguments.
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { DomainError } from './errors.ts';
import { ID_PATTERN } from './registry/registry.ts';

export const ROLES = ['driver', 'rider', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  role: Role;
  id: string;
  /** When the token stops being valid (ms since epoch); a socket is closed then. */
  expiresAt?: number;
}

export interface JwtPolicy {
  secret: string;
  issuer: string | null;
  audience: string | null;
}

const ALGORITHM = 'HS256';

/**
 * The secret as a WebCrypto key, imported once per secret: jose imports raw bytes again on every
 * call: a token cost ~110 µs to check that way, ~80 µs now (bench/jwt-verify.ts), paid by
 * every socket's sign-in and every HTTP request with a token.
 */
const keys = new Map<string, Promise<CryptoKey>>();

function keyOf(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, key);
  }
  return key;
}

export async function signToken(
  policy: JwtPolicy | string,
  identity: Pick<Identity, 'role' | 'id'>,
  expiresIn: string | number = '30d',
): Promise<string> {
  const p = typeof policy === 'string' ? { secret: policy, issuer: null, audience: null } : policy;
  const jwt = new SignJWT({ role: identity.role }).setProtectedHeader({ alg: ALGORITHM }).setSubject(identity.id).setIssuedAt().setExpirationTime(expiresIn);
  if (p.issuer) jwt.setIssuer(p.issuer);
  if (p.audience) jwt.setAudience(p.audience);
  return jwt.sign(await keyOf(p.secret));
}

/** Verifies a raw JWT. Throws UNAUTHENTICATED with the reason. */
export async function verifyToken(policy: JwtPolicy, token: string): Promise<Identity> {
  try {
    const { payload } = await jwtVerify(token, await keyOf(policy.secret), {
      algorithms: [ALGORITHM],
      requiredClaims: ['exp', 'sub'],
      ...(policy.issuer ? { issuer: policy.issuer } : {}),
      ...(policy.audience ? { audience: policy.audience } : {}),
    });
    const role = payload.role;
    const id = payload.sub;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      throw new DomainError('UNAUTHENTICATED', 'token has no valid role claim');
    }
    // Ids end up in Redis keys, Postgres rows and logs: the same alphabet as registered ids.
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new DomainError('UNAUTHENTICATED', 'token has no valid sub claim');
    return { role: role as Role, id, expiresAt: payload.exp! * 1000 };
  } catch (err) {
    if (err instanceof DomainError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new DomainError('UNAUTHENTICATED', 'token expired');
    if (err instanceof joseErrors.JWTClaimValidationFailed) throw new DomainError('UNAUTHENTICATED', `token ${err.claim} claim is missing or wrong`);
    throw new DomainError('UNAUTHENTICATED', 'invalid token');
  }
}

/**
 * Reads `Bearer <jwt>` (HTTP Authorization header, or graphql-ws connectionParams.authorization;
 * a bare token is accepted too). Missing → null (anonymous); present but bad → UNAUTHENTICATED.
 */
export async function identityFromAuthorization(policy: JwtPolicy, value: unknown): Promise<Identity | null> {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > 4096) throw new DomainError('UNAUTHENTICATED', 'authorization must be a bearer token');
  const token = value.replace(/^Bearer\s+/i, '').trim();
  return verifyToken(policy, token);
}
