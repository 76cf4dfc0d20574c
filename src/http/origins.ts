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

/**
 * A page we served ourselves (the /map page) opens its WebSocket with our own host as Origin:
 * it needs no listing. Only the host and port are compared: behind a TLS-terminating balancer
 * the page is https while the upgrade reaching us is plain, and no other site can send a
 * browser's Origin naming our host.
 */
export function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
