// The operators' live map page: GET /map (the page) and GET /map/app.js (its script). Both are
// static and public; the data comes only through the cityMap subscription, which needs an admin
// token (the page asks for it and sends it in the graphql-ws connection_init). Everything it loads
// is served from here: no tiles, fonts or CDN, so it works offline.
//
// The script is web/map/main.ts bundled by esbuild with graphql-ws and h3-js from node_modules.
// `npm run build` writes that bundle beside this file (dist/http/map-app.js), since production
// installs no esbuild; under tsx (development, tests) it is bundled on first request and kept.
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import type { BuildOptions } from 'esbuild';
import type { CityMapPolicy } from '../config.ts';

const here = import.meta.dirname;
export const MAP_ENTRY = path.resolve(here, '../../web/map/main.ts');
export const MAP_BUNDLE_NAME = 'map-app.js';

let bundle: Promise<string> | null = null;

/** The page's script: the prebuilt bundle, or esbuild's output when running from source. */
export function mapScript(): Promise<string> {
  bundle ??= (async () => {
    const prebuilt = path.join(here, MAP_BUNDLE_NAME);
    if (existsSync(prebuilt)) return readFileSync(prebuilt, 'utf8');
    const esbuild = await import('esbuild');
    const result = await esbuild.build(mapBuildOptions());
    return result.outputFiles![0]!.text;
  })();
  bundle.catch(() => (bundle = null));
  return bundle;
}

/** Shared with scripts/build.ts, so the built bundle is the one development serves. */
export function mapBuildOptions(): BuildOptions & { write: false } {
  return { entryPoints: [MAP_ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, write: false, logLevel: 'silent' };
}

const escapeAttr = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function page(policy: CityMapPolicy): string {
  const start = escapeAttr(JSON.stringify(policy.start));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ridematch · city map</title>
<style>
  html, body { margin: 0; height: 100%; background: #0b1020; color: #e2e8f0; font: 13px/1.4 system-ui, sans-serif; overflow: hidden; }
  canvas { display: block; width: 100vw; height: 100vh; cursor: grab; }
  #panel { position: fixed; top: 12px; left: 12px; background: rgba(15, 23, 42, .92); border: 1px solid #334155; border-radius: 8px; padding: 10px 12px; max-width: 340px; }
  #panel h1 { font-size: 14px; margin: 0 0 6px; }
  #login input { width: 220px; background: #0f172a; color: inherit; border: 1px solid #475569; border-radius: 4px; padding: 4px 6px; }
  #login button, #zoom button { background: #1e293b; color: inherit; border: 1px solid #475569; border-radius: 4px; padding: 3px 9px; cursor: pointer; }
  #error { color: #fca5a5; margin-top: 6px; }
  #legend span { display: inline-block; margin-right: 10px; }
  #legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px; }
  #zoom { position: fixed; right: 12px; top: 12px; display: flex; flex-direction: column; gap: 4px; }
</style>
</head>
<body data-start="${start}">
<canvas id="map"></canvas>
<div id="panel">
  <h1>Ridematch · live city map</h1>
  <form id="login">
    <div>Admin token</div>
    <input id="token" type="password" autocomplete="off" placeholder="eyJ…" required>
    <button type="submit">Connect</button>
  </form>
  <div id="status">Not connected.</div>
  <div id="legend">
    <span><i style="background:#22c55e"></i>free</span><span><i style="background:#f59e0b"></i>offered</span><span><i style="background:#38bdf8"></i>on a trip</span><span><i style="background:#f43f5e;border-radius:0"></i>searching ride</span>
  </div>
  <div id="error"></div>
</div>
<div id="zoom"><button id="zoom-in" title="Zoom in">+</button><button id="zoom-out" title="Zoom out">−</button></div>
<script type="module" src="/map/app.js"></script>
</body>
</html>
`;
}

// The page runs nothing but its own script and talks only to this server (graphql-ws on /graphql).
const CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Answers /map and /map/app.js; returns false for any other path. */
export async function serveMapPage(pathname: string, res: ServerResponse, policy: CityMapPolicy): Promise<boolean> {
  if (pathname === '/map' || pathname === '/map/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'content-security-policy': CSP }).end(page(policy));
    return true;
  }
  if (pathname === '/map/app.js') {
    const script = await mapScript();
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).end(script);
    return true;
  }
  return false;
}
