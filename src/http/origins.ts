// Browser origins allowed to call the API (CORS) and to open its WebSocket (CORS_ORIGINS).
// An entry is an exact origin (`https://ops.example.com`) or has `*` for a port or a label
// (`http://localhost:*`, `https://*.example.com`). A request without an Origin header is not
// from a browser page (mobile apps, servers) and is not judged here.
export type OriginCheck = (origin: string) => boolean;

const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

export function originAllowlist(entries: string[]): OriginCheck {
  const patterns = entries.map((e) => new RegExp(`^${escape(e.replace(/\/+$/, '')).replaceAll('*', '[^./:]+')}$`, 'i'));
  return (origin) => patterns.some((p) => p.test(origin));
}
