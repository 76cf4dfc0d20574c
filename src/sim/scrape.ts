// Reads a server's GET /metrics (Prometheus text format) into samples, for the benchmark and the
// tests, which compare scrapes taken before and after a load.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** The sample with this name whose labels include `labels`, summed when several match (0 when none). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  }

  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }
}

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(LABEL)].map((l) => [l[1]!, l[2]!.replace(/\\(.)/g, '$1')]));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return new Scrape(samples);
}

/** GET /metrics (with the bearer token when there is one); throws unless it answers 200. */
export async function scrape(metricsUrl: string, token?: string): Promise<Scrape> {
  const res = await fetch(metricsUrl, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (res.status !== 200) throw new Error(`GET ${metricsUrl}: ${res.status}`);
  return parseMetrics(await res.text());
}
