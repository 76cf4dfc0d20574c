// The operators' live map, in the browser: a canvas in Web Mercator (no tiles: the H3 cells are the
// map), panned by dragging and zoomed by the wheel or the buttons. It asks for an admin token,
// opens one graphql-ws socket with it, and subscribes to cityMap for the view; a moved view is a
// new subscription (the old one is completed, so the server's timer for it stops).
import { createClient, type Client } from 'graphql-ws';
import { cellToBoundary, cellToLatLng, polygonToCells } from 'h3-js';

interface LatLng { lat: number; lng: number }
interface Snapshot {
  at: string;
  level: 'REGION' | 'CELL' | 'DETAIL';
  narrowed: boolean;
  liveDrivers: number;
  cells: Array<{ cell: string; resolution: number; drivers: number; searchingRides: number }>;
  drivers: Array<{ id: string; lat: number; lng: number; state: 'FREE' | 'OFFERED' | 'ON_TRIP' }>;
  rides: Array<{ id: string; lat: number; lng: number; round: number }>;
  offers: Array<{ rideId: string; driverId: string; from: LatLng; to: LatLng }>;
  assignments: Array<{ rideId: string; driverId: string; status: string; from: LatLng; to: LatLng }>;
}

/** What the page shows, for people and for the browser test. */
declare global {
  interface Window { cityMap: { snapshots: number; last: Snapshot | null; error: string | null } }
}
window.cityMap = { snapshots: 0, last: null, error: null };

const SUBSCRIPTION = /* GraphQL */ `
  subscription CityMap($bbox: BoundingBoxInput!, $zoom: Int!) {
    cityMap(bbox: $bbox, zoom: $zoom) {
      at level narrowed liveDrivers
      cells { cell resolution drivers searchingRides }
      drivers { id lat lng state }
      rides { id lat lng round }
      offers { rideId driverId from { lat lng } to { lat lng } }
      assignments { rideId driverId status from { lat lng } to { lat lng } }
    }
  }`;

const COLOURS = { FREE: '#22c55e', OFFERED: '#f59e0b', ON_TRIP: '#38bdf8', ride: '#f43f5e', offer: '#f59e0b', assignment: '#38bdf8' };
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('map');
const ctx = canvas.getContext('2d')!;
const status = $('status');
const errorLine = $('error');

// The view: its centre and zoom (?lat=&lng=&zoom= override the server's CITY_MAP_START).
const start = JSON.parse(document.body.dataset.start!) as { lat: number; lng: number; zoom: number };
const query = new URLSearchParams(location.search);
const view = {
  lat: Number(query.get('lat') ?? start.lat),
  lng: Number(query.get('lng') ?? start.lng),
  zoom: Math.round(Number(query.get('zoom') ?? start.zoom)),
};

// Web Mercator in world pixels at the current zoom (256 px tiles, as every web map).
const worldSize = () => 256 * 2 ** view.zoom;
const toWorld = (lat: number, lng: number) => {
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return { x: ((lng + 180) / 360) * worldSize(), y: (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * worldSize() };
};
const fromWorld = (x: number, y: number): LatLng => ({
  lng: (x / worldSize()) * 360 - 180,
  lat: (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / worldSize()))) * 180) / Math.PI,
});
const screen = (lat: number, lng: number) => {
  const c = toWorld(view.lat, view.lng);
  const p = toWorld(lat, lng);
  return { x: p.x - c.x + canvas.width / 2, y: p.y - c.y + canvas.height / 2 };
};
function bbox() {
  const c = toWorld(view.lat, view.lng);
  const nw = fromWorld(c.x - canvas.width / 2, c.y - canvas.height / 2);
  const se = fromWorld(c.x + canvas.width / 2, c.y + canvas.height / 2);
  return { south: se.lat, west: nw.lng, north: nw.lat, east: se.lng };
}

function hexagon(cell: string, fill: string | null, stroke: string): void {
  const outline = cellToBoundary(cell);
  ctx.beginPath();
  outline.forEach(([lat, lng], i) => {
    const p = screen(lat, lng);
    if (i === 0) ctx.moveTo(p.x, p.y);
    else ctx.lineTo(p.x, p.y);
  });
  ctx.closePath();
  if (fill) {
    ctx.fillStyle = fill;
    ctx.fill();
  }
  ctx.strokeStyle = stroke;
  ctx.stroke();
}

function line(from: LatLng, to: LatLng, colour: string, dashed: boolean): void {
  const a = screen(from.lat, from.lng);
  const b = screen(to.lat, to.lng);
  ctx.beginPath();
  ctx.setLineDash(dashed ? [5, 4] : []);
  ctx.moveTo(a.x, a.y);
  ctx.lineTo(b.x, b.y);
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.lineWidth = 1;
}

/** The res-7 cells of the view as a faint grid under the details (the map has no tiles). */
function backgroundGrid(): void {
  if (view.zoom < 12) return;
  const b = bbox();
  const cells = polygonToCells([[b.south, b.west], [b.south, b.east], [b.north, b.east], [b.north, b.west]], view.zoom >= 15 ? 9 : 7);
  for (const cell of cells.slice(0, 3000)) hexagon(cell, null, 'rgba(148, 163, 184, 0.12)');
}

function draw(): void {
  // Drawn at CSS pixels (no devicePixelRatio scaling): crisp enough for dots and outlines.
  if (canvas.width !== innerWidth || canvas.height !== innerHeight) {
    canvas.width = innerWidth;
    canvas.height = innerHeight;
  }
  ctx.fillStyle = '#0b1020';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  backgroundGrid();
  const s = window.cityMap.last;
  if (!s) return;
  if (s.level !== 'DETAIL') {
    const most = Math.max(1, ...s.cells.map((c) => c.drivers));
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'center';
    for (const c of s.cells) {
      hexagon(c.cell, `rgba(34, 197, 94, ${0.1 + (0.6 * c.drivers) / most})`, 'rgba(148, 163, 184, 0.5)');
      const [lat, lng] = cellToLatLng(c.cell);
      const p = screen(lat, lng);
      ctx.fillStyle = '#f8fafc';
      ctx.fillText(`${c.drivers}${c.searchingRides ? ` · ${c.searchingRides}⚑` : ''}`, p.x, p.y + 4);
    }
    return;
  }
  for (const a of s.assignments) line(a.from, a.to, COLOURS.assignment, false);
  for (const o of s.offers) line(o.from, o.to, COLOURS.offer, true);
  for (const r of s.rides) {
    const p = screen(r.lat, r.lng);
    ctx.fillStyle = COLOURS.ride;
    ctx.fillRect(p.x - 5, p.y - 5, 10, 10);
  }
  for (const d of s.drivers) {
    const p = screen(d.lat, d.lng);
    ctx.beginPath();
    ctx.arc(p.x, p.y, 4.5, 0, 2 * Math.PI);
    ctx.fillStyle = COLOURS[d.state];
    ctx.fill();
    ctx.strokeStyle = '#0b1020';
    ctx.stroke();
  }
}

function describe(s: Snapshot): string {
  const time = new Date(s.at).toLocaleTimeString();
  const where = `zoom ${view.zoom}${s.narrowed ? ' (view narrowed)' : ''}`;
  if (s.level !== 'DETAIL') return `${s.level === 'REGION' ? 'Regions' : 'Cells'}: ${s.cells.length}, ${s.liveDrivers} live drivers · ${where} · ${time}`;
  const count = (state: string) => s.drivers.filter((d) => d.state === state).length;
  return `${s.drivers.length} drivers (${count('FREE')} free, ${count('OFFERED')} offered, ${count('ON_TRIP')} on a trip) · ${s.rides.length} searching · ${s.offers.length} offers · ${s.assignments.length} assignments · ${where} · ${time}`;
}

// The socket and the subscription for the current view.
let client: Client | null = null;
let unsubscribe: (() => void) | null = null;

function subscribe(): void {
  unsubscribe?.();
  if (!client) return;
  unsubscribe = client.subscribe<{ cityMap: Snapshot }>(
    { query: SUBSCRIPTION, variables: { bbox: bbox(), zoom: view.zoom } },
    {
      next: (result) => {
        if (result.errors?.length) return fail(result.errors.map((e) => e.message).join('; '));
        window.cityMap.last = result.data!.cityMap;
        window.cityMap.snapshots += 1;
        errorLine.textContent = '';
        status.textContent = describe(window.cityMap.last);
        draw();
      },
      error: (err) => fail(Array.isArray(err) ? err.map((e) => e.message).join('; ') : err instanceof Error ? err.message : `connection closed (${(err as CloseEvent).code} ${(err as CloseEvent).reason})`),
      complete: () => {},
    },
  );
}

function fail(message: string): void {
  window.cityMap.error = message;
  errorLine.textContent = message;
}

function connect(token: string): void {
  client?.dispose();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  client = createClient({
    url,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: Infinity,
    // A refused token (4403) or too many sockets (4409) will not get better by retrying.
    shouldRetry: (e) => !(e && typeof e === 'object' && 'code' in e && [4403, 4409, 4429].includes((e as CloseEvent).code)),
    on: {
      connected: () => (status.textContent = 'Connected; waiting for the first snapshot…'),
      closed: (e) => {
        const { code, reason } = e as CloseEvent;
        if (code === 4403) {
          sessionStorage.removeItem('ridematch-admin-token');
          fail(`token refused: ${reason}`);
        }
      },
    },
  });
  subscribe();
}

$<HTMLFormElement>('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $<HTMLInputElement>('token').value.trim();
  sessionStorage.setItem('ridematch-admin-token', token);
  connect(token);
});

// Moving the view: redraw at once, resubscribe once the movement settles.
let settle: number | undefined;
function moved(): void {
  draw();
  clearTimeout(settle);
  settle = window.setTimeout(subscribe, 250);
}
function zoomBy(step: number): void {
  view.zoom = Math.max(3, Math.min(18, view.zoom + step));
  moved();
}
$('zoom-in').addEventListener('click', () => zoomBy(1));
$('zoom-out').addEventListener('click', () => zoomBy(-1));
canvas.addEventListener('wheel', (e) => {
  e.preventDefault();
  zoomBy(e.deltaY < 0 ? 1 : -1);
}, { passive: false });
let drag: { x: number; y: number } | null = null;
canvas.addEventListener('pointerdown', (e) => {
  drag = { x: e.clientX, y: e.clientY };
  canvas.setPointerCapture(e.pointerId);
});
canvas.addEventListener('pointermove', (e) => {
  if (!drag) return;
  const c = toWorld(view.lat, view.lng);
  const next = fromWorld(c.x - (e.clientX - drag.x), c.y - (e.clientY - drag.y));
  view.lat = next.lat;
  view.lng = next.lng;
  drag = { x: e.clientX, y: e.clientY };
  moved();
});
canvas.addEventListener('pointerup', () => (drag = null));
addEventListener('resize', moved);

draw();
const saved = sessionStorage.getItem('ridematch-admin-token');
if (saved) connect(saved);
