// What checking one token costs (every socket's sign-in and every HTTP request with a token pays
// it): jose's jwtVerify with the secret as raw bytes (jose imports them as a WebCrypto key on
// every call) against a key imported once, as src/auth.ts now does. Alternating rounds.
//   npx tsx bench/jwt-verify.ts
import { SignJWT, jwtVerify } from 'jose';
import { verifyToken } from '../src/auth.ts';

const SECRET = 'bench-secret-of-at-least-32-characters!!';
const bytes = new TextEncoder().encode(SECRET);
const tokens = await Promise.all(
  Array.from({ length: 5_000 }, (_, i) => new SignJWT({ role: 'driver' }).setProtectedHeader({ alg: 'HS256' }).setSubject(`d${i}`).setIssuedAt().setExpirationTime('1h').sign(bytes)),
);
const policy = { secret: SECRET, issuer: null, audience: null };
const ways: Array<[string, (token: string) => Promise<unknown>]> = [
  ['raw bytes per call', (t) => jwtVerify(t, bytes, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] })],
  ['src/auth.ts verifyToken', (t) => verifyToken(policy, t)],
];
for (let round = 1; round <= 3; round++) {
  for (const [name, verify] of ways) {
    const started = performance.now();
    for (const token of tokens) await verify(token);
    console.log(`round ${round}: ${name}: ${(((performance.now() - started) * 1000) / tokens.length).toFixed(1)} µs per token`);
  }
}
