// GraphiQL served by this server alone, so it works offline and behind firewalls (Yoga's default
// page loads it from unpkg.com). @graphql-yoga/render-graphiql ships GraphiQL's script, style
// sheet, Monaco's three editor workers and the favicon as strings in one module; its own renderer
// inlines all 9 MB into every page. We serve each as a file under /graphiql/assets/<version>/
// instead (cached by the browser, gzipped), and the page only links them.
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

type Bundle = typeof import('@graphql-yoga/render-graphiql/graphiql');

const VERSION: string = createRequire(import.meta.url)('@graphql-yoga/render-graphiql/package.json').version;
/** The version is in the path, so a file can be cached for good and an upgrade is never stale. */
const BASE = `/graphiql/assets/${VERSION}/`;

const ASSETS: Record<string, { type: string; body: (b: Bundle) => string | Buffer }> = {
  'graphiql.js': { type: 'text/javascript; charset=utf-8', body: (b) => b.js },
  'graphiql.css': { type: 'text/css; charset=utf-8', body: (b) => b.css },
  'editor.worker.js': { type: 'text/javascript; charset=utf-8', body: (b) => b.editorWorkerService },
  'json.worker.js': { type: 'text/javascript; charset=utf-8', body: (b) => b.jsonWorker },
  'graphql.worker.js': { type: 'text/javascript; charset=utf-8', body: (b) => b.graphqlWorker },
  // Shipped as a data: URL.
  'favicon.ico': { type: 'image/x-icon', body: (b) => Buffer.from(b.favicon.slice(b.favicon.indexOf(',') + 1), 'base64') },
};

/** Monaco asks for its workers by these labels. */
const WORKERS = { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' };

/** JSON that is safe inside a <script> element (no `</script>` can end it early). */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** Yoga's `renderGraphiQL`: the page, linking our own assets. */
export function renderGraphiQL(options: GraphiQLOptions): string {
  const title = (options.title ?? 'GraphiQL').replace(/[<>&"]/g, '');
  const workerUrls = Object.fromEntries(Object.entries(WORKERS).map(([label, file]) => [label, BASE + file]));
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title}</title>
    <link rel="icon" href="${BASE}favicon.ico" />
    <link rel="stylesheet" href="${BASE}graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script>
      const workerUrls = ${scriptJson(workerUrls)};
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workerUrls[label] };
    </script>
    <script src="${BASE}graphiql.js"></script>
    <script>YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), ${scriptJson(options)});</script>
  </body>
</html>
`;
}

interface Encoded {
  type: string;
  plain: Uint8Array<ArrayBuffer>;
  gzipped: Uint8Array<ArrayBuffer>;
}

/**
 * Serves GET /graphiql/assets/<version>/<file>. The 9 MB bundle is loaded, and each file gzipped
 * (off the event loop), the first time a file is asked for: an instance nobody opens GraphiQL on
 * never holds it.
 */
export function graphiqlAssets(): Plugin {
  const cache = new Map<string, Promise<Encoded>>();
  const encode = async (name: string): Promise<Encoded> => {
    const asset = ASSETS[name]!;
    const body = asset.body(await import('@graphql-yoga/render-graphiql/graphiql'));
    const plain = new Uint8Array(Buffer.isBuffer(body) ? body : Buffer.from(body));
    return { type: asset.type, plain, gzipped: new Uint8Array(await promisify(gzip)(plain)) };
  };
  const serve = async (name: string, request: Request, fetchAPI: { Response: typeof Response }) => {
    if (!cache.has(name)) cache.set(name, encode(name));
    const file = await cache.get(name)!;
    const gzipped = /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '');
    const body = gzipped ? file.gzipped : file.plain;
    return new fetchAPI.Response(request.method === 'HEAD' ? null : body, {
      headers: {
        'content-type': file.type,
        'content-length': String(body.length),
        'cache-control': 'public, max-age=31536000, immutable',
        vary: 'accept-encoding',
        ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
      },
    });
  };
  return {
    // Synchronous for every other request: server.ts counts body bytes as they flow, so a request
    // whose body came with its headers must reach Yoga's body reader in the same tick.
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith(BASE) || (request.method !== 'GET' && request.method !== 'HEAD')) return;
      const name = url.pathname.slice(BASE.length);
      if (!Object.hasOwn(ASSETS, name)) return endResponse(new fetchAPI.Response(null, { status: 404 }));
      return serve(name, request, fetchAPI).then(endResponse);
    },
  };
}
