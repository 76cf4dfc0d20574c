// npm run token -- <driver|rider|admin> <id> [--expires 30d]
// Prints a signed development token (HS256, JWT_SECRET or the dev default).
import { ROLES, signToken, type Role } from '../src/auth.ts';
import { loadConfig } from '../src/config.ts';

const args = process.argv.slice(2);
const expiresAt = args.indexOf('--expires');
const expires = expiresAt >= 0 ? args.splice(expiresAt, 2)[1] : '30d';
const [role, id] = args;
if (!role || !id || !(ROLES as readonly string[]).includes(role)) {
  console.error('usage: npm run token -- <driver|rider|admin> <id> [--expires 30d]');
  process.exit(2);
}
const config = loadConfig();
console.log(await signToken(config.jwt, { role: role as Role, id }, expires));
