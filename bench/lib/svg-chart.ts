// The report's chart: the distribution (CDF) of first-offer and accept → ASSIGNED latency at each density,
// as a plain SVG file (no browser, no library). X: latency, log scale, labelled in ms; Y: share of
// the rides at or below it, on a "nines" scale (0, p50, p90, p99, p99.9 equally spaced from p50 up)
// so the tail is as readable as the middle. A series whose rides failed stops at the share that
// succeeded: failures are never plotted as fast.
import type { MatchLevel } from '../match.ts';
import type { LatencySummary } from './latency.ts';

const W = 920;
const H = 540;
const M = { left: 64, right: 24, top: 40, bottom: 132 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function latencyChart(levels: MatchLevel[]): string {
  const series: Array<{ label: string; s: LatencySummary; color: string; dash: string }> = [];
  levels.forEach((l, i) => {
    const color = COLORS[i % COLORS.length]!;
    const n = l.onlineDrivers.toLocaleString('en-US');
    series.push({ label: `first offer, ${n} online`, s: l.firstOfferMs, color, dash: '' });
    // ASSIGNED from the driver's accept (goal 2); reports before it existed drew it from the request.
    if (l.acceptToAssignedMs) series.push({ label: `accept → ASSIGNED, ${n} online`, s: l.acceptToAssignedMs, color, dash: '7 4' });
    else series.push({ label: `ASSIGNED, ${n} online`, s: l.assignedMs, color, dash: '7 4' });
  });
  const all = series.flatMap((x) => x.s.samples).filter((v) => v > 0);
  const lo = Math.max(0.5, Math.min(1, ...all));
  const hi = Math.max(50, ...all) * 1.1;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (ms: number) => M.left + ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * pw;
  const TOP = 3; // 99.9%
  const nines = (share: number) => Math.min(TOP, -Math.log10(Math.max(1e-9, 1 - Math.min(share, 0.999))));
  const y = (share: number) => M.top + (1 - nines(share) / TOP) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="14" font-weight="bold">Matching latency: share of rides at or below (failed rides never reach 100%)</text>`,
  ];
  for (const t of TICKS.filter((t) => t >= lo && t <= hi)) {
    out.push(`<line x1="${x(t).toFixed(1)}" y1="${M.top}" x2="${x(t).toFixed(1)}" y2="${M.top + ph}" stroke="#ddd"/>`);
    out.push(`<text x="${x(t).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">${t} ms</text>`);
  }
  for (const [share, label] of [[0, '0%'], [0.5, 'p50'], [0.75, 'p75'], [0.9, 'p90'], [0.95, 'p95'], [0.99, 'p99'], [0.999, 'p99.9']] as const) {
    out.push(`<line x1="${M.left}" y1="${y(share).toFixed(1)}" x2="${M.left + pw}" y2="${y(share).toFixed(1)}" stroke="${share === 0.5 || share === 0.99 ? '#bbb' : '#eee'}"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y(share) + 4).toFixed(1)}" text-anchor="end">${label}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${M.top + ph + 34}" text-anchor="middle">latency from requestRide (ms, log scale)</text>`);
  // The targets at 50k, as vertical marks.
  for (const [ms, label] of [[25, 'first offer p99 target 25 ms'], [40, 'ASSIGNED p99 target 40 ms']] as const) {
    if (ms < lo || ms > hi) continue;
    out.push(`<line x1="${x(ms).toFixed(1)}" y1="${M.top}" x2="${x(ms).toFixed(1)}" y2="${M.top + ph}" stroke="#999" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${(x(ms) + 3).toFixed(1)}" y="${M.top + 12 + (ms === 40 ? 14 : 0)}" fill="#666" font-size="10">${label}</text>`);
  }
  series.forEach((sr, i) => {
    const { samples, count } = sr.s;
    if (count > 0 && samples.length > 0) {
      const pts = [`${x(samples[0]!).toFixed(1)},${y(0).toFixed(1)}`];
      samples.forEach((v, k) => {
        pts.push(`${x(v).toFixed(1)},${y(k / count).toFixed(1)}`, `${x(v).toFixed(1)},${y((k + 1) / count).toFixed(1)}`);
      });
      out.push(`<polyline fill="none" stroke="${sr.color}" stroke-width="1.8" ${sr.dash ? `stroke-dasharray="${sr.dash}"` : ''} points="${pts.join(' ')}"/>`);
    }
  });
  series.forEach((sr, i) => {
    const { count } = sr.s;
    // Legend below the axis: a column per density (first offer above, ASSIGNED below).
    const lx = M.left + Math.floor(i / 2) * 280;
    const ly = M.top + ph + 56 + (i % 2) * 18;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${sr.color}" stroke-width="2" ${sr.dash ? `stroke-dasharray="${sr.dash}"` : ''}/>`);
    const failed = sr.s.failures ? `, ${sr.s.failures} failed` : '';
    out.push(`<text x="${lx + 34}" y="${ly + 4}">${esc(`${sr.label} (n=${count}${failed})`)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
