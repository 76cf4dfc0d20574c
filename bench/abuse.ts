// npm run bench:abuse — what a hostile client costs the server, measured on a server started as
// `npm start` would (its own local shards), with the default limits:
//   (1) the 60,000-alias anonymous document (1 MB): refused with 413 before it is parsed;
//   (2) the same attack under a raised body limit (so it reaches the parser): refused at the
//       token limit; both timed per request, 20 rounds each, every round shown;
//   (3) /health while 20 such requests arrive at once, against /health alone, side by side;
//   (4) 200 connections sending one byte a second: how long until each is closed, and the
//       latency of ordinary requests meanwhile.
// Writes bench/results/abuse-<date>.md. Client-side times on localhost include one loopback
// round trip (~0.1 ms); they bound the server time from above.
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startChildServer, type ChildServer } from '../src/sim/server-process.ts';
import { Samples } from '../src/sim/stats.ts';

const ROUNDS = 20;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch_bench';
const aliases = `{ ${Array.from({ length: 60_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
const body = JSON.stringify({ query: aliases });

async function timedPost(url: string): Promise<{ ms: number; status: number; code: string }> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  const ms = performance.now() - started;
  const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? '-';
  return { ms, status: res.status, code };
}

async function timedHealth(base: string): Promise<number> {
  const started = performance.now();
  await (await fetch(`${base}/health`)).text();
  return performance.now() - started;
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const row = (s: Samples) => {
  const x = s.summary();
  return `p50 ${fmt(x.p50)}, p99 ${fmt(x.p99)}, max ${fmt(x.max)} (n=${x.count})`;
};

async function refusals(server: ChildServer, label: string, lines: string[]): Promise<void> {
  const samples = new Samples();
  const rounds: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await timedPost(server.url);
    samples.add(r.ms);
    rounds.push(`${fmt(r.ms)} → ${r.status} ${r.code}`);
  }
  lines.push(`### ${label}`, '', `- ${row(samples)}`, `- every round: ${rounds.join('; ')}`, '');
}

async function healthUnderFlood(server: ChildServer, lines: string[]): Promise<void> {
  const base = server.url.replace('/graphql', '');
  const alone = new Samples();
  const flooded = new Samples();
  for (let i = 0; i < ROUNDS; i++) {
    alone.add(await timedHealth(base));
    const flood = Array.from({ length: 20 }, () => timedPost(server.url));
    flooded.add(await timedHealth(base));
    await Promise.all(flood);
  }
  lines.push('### /health, alone and while 20 of the 1 MB requests arrive (alternating rounds)', '', `- alone: ${row(alone)}`, `- under the flood: ${row(flooded)}`, '');
}

async function slowClients(server: ChildServer, lines: string[]): Promise<void> {
  const sockets: net.Socket[] = [];
  const opened = Date.now();
  const closed: Array<Promise<{ ms: number; answer: string }>> = [];
  for (let i = 0; i < 200; i++) {
    const s = net.connect(server.port, '127.0.0.1');
    s.on('error', () => {});
    let answer = '';
    s.on('data', (d) => (answer += d));
    sockets.push(s);
    closed.push(new Promise((resolve) => s.once('close', () => resolve({ ms: Date.now() - opened, answer: answer.split('\r\n')[0] || '(no answer)' }))));
  }
  // A valid request line and headers, one byte a second in order: only a timeout ends it.
  const header = 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';
  let sent = 0;
  const dribble = setInterval(() => {
    const byte = header[sent++ % header.length]!;
    for (const s of sockets) if (!s.destroyed) s.write(byte, () => {});
  }, 1_000);
  const normal = new Samples();
  const ticking = setInterval(() => void timedHealth(server.url.replace('/graphql', '')).then((ms) => normal.add(ms)), 250);
  const closes = new Samples();
  const answers = new Map<string, number>();
  for (const { ms, answer } of await Promise.all(closed)) {
    closes.add(ms);
    answers.set(answer, (answers.get(answer) ?? 0) + 1);
  }
  clearInterval(dribble);
  clearInterval(ticking);
  const answered = [...answers].map(([answer, n]) => `${n} × ${answer}`).join(', ');
  lines.push('### 200 connections at one byte a second (default HTTP_HEADERS_TIMEOUT_MS)', '', `- closed after: ${row(closes)}`, `- answered: ${answered} (${sent} bytes sent by then)`, `- /health meanwhile (every 250 ms): ${row(normal)}`, '');
}

const lines: string[] = [`# Abuse costs — ${new Date().toISOString()}`, '', `Command: \`npm run bench:abuse\`. Body of the attack: ${(body.length / 1e6).toFixed(2)} MB, 60,000 aliases of \`__typename\`.`, ''];
const base = { DATABASE_URL, NODE_ENV: 'development', LOG_LEVEL: 'warn' };
let server = await startChildServer(base);
try {
  await refusals(server, '(1) the 1 MB document, default body limit (64 KiB): 413 before parsing', lines);
  await healthUnderFlood(server, lines);
  await slowClients(server, lines);
} finally {
  await server.stop();
}
server = await startChildServer({ ...base, HTTP_MAX_BODY_BYTES: String(2 * 1024 * 1024), OPERATION_LIMIT: '1000000' });
try {
  await refusals(server, '(2) the same document with the body limit raised to 2 MiB: refused by the token limit while parsing', lines);
} finally {
  await server.stop();
}
const dir = path.resolve(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `abuse-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.md`);
writeFileSync(file, `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
console.log(`written to ${path.relative(process.cwd(), file)}`);
process.exit(0);
