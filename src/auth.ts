// Token → identity. Tokens are issued elsewhere (no sign-up or login here); we verify HS256 JWTs
// whose `sub` is the caller's id and `role` one of driver | rider | admin. The caller's id always
// comes from the token, never from arguments.
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { DomainError } from './errors.ts';

export const ROLES = ['driver', 'rider', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  role: Role;
  id: string;
}

const ALGORITHM = 'HS256';
const MAX_ID_LENGTH = 128;

function keyOf(secret: string) {
  return new TextEncoder().encode(secret);
}

export async function signToken(secret: string, identity: Identity, expiresIn = '30d'): Promise<string> {
  return new SignJWT({ role: identity.role })
    .setProtectedHeader({ alg: ALGORITHM })
    .setSubject(identity.id)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(keyOf(secret));
}

/** Verifies a raw JWT. Throws UNAUTHENTICATED with the reason. */
export async function verifyToken(secret: string, token: string): Promise<Identity> {
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), { algorithms: [ALGORITHM] });
    const role = payload.role;
    const id = payload.sub;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      throw new DomainError('UNAUTHENTICATED', 'token has no valid role claim');
    }
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
      throw new DomainError('UNAUTHENTICATED', 'token has no valid sub claim');
    }
    return { role: role as Role, id };
  } catch (err) {
    if (err instanceof DomainError) throw err;
    const reason = err instanceof joseErrors.JWTExpired ? 'token expired' : 'invalid token';
    throw new DomainError('UNAUTHENTICATED', reason);
  }
}

/**
 * Reads `Bearer <jwt>` (HTTP Authorization header, or graphql-ws connectionParams.authorization;
 * a bare token is accepted too). Missing → null (anonymous); present but bad → UNAUTHENTICATED.
 */
export async function identityFromAuthorization(secret: string, value: unknown): Promise<Identity | null> {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new DomainError('UNAUTHENTICATED', 'authorization must be a string');
  const token = value.replace(/^Bearer\s+/i, '').trim();
  return verifyToken(secret, token);
}
