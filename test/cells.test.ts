// The region cover of a search circle must include the region of every point inside the circle,
// or drivers near a region border would be missed. Checked by sampling, at many places and radii.
import { describe, expect, it } from 'vitest';
import { haversineKm, regionOf, regionsWithin } from '../src/geo/cells.ts';
import { offset, seededRandom } from './helpers/fixtures.ts';

describe('regionsWithin', () => {
  it('covers the region of every point within the radius', () => {
    const random = seededRandom(99);
    for (let trial = 0; trial < 200; trial++) {
      const center = { lat: (random() - 0.5) * 140, lng: (random() - 0.5) * 360 };
      const radiusKm = 0.5 + random() * 30;
      const cover = new Set(regionsWithin(center.lat, center.lng, radiusKm));
      for (let i = 0; i < 200; i++) {
        const angle = random() * 2 * Math.PI;
        const r = radiusKm * Math.sqrt(random());
        const p = offset(center.lat, center.lng, r * Math.cos(angle), r * Math.sin(angle));
        if (haversineKm(center.lat, center.lng, p.lat, p.lng) > radiusKm) continue;
        expect(cover.has(regionOf(p.lat, p.lng)), `${JSON.stringify(center)} r=${radiusKm}`).toBe(true);
      }
    }
  });

  it('stays small: one region for most 1 km searches (76% measured at resolution 5)', () => {
    const random = seededRandom(5);
    let single = 0;
    for (let i = 0; i < 500; i++) {
      const c = { lat: (random() - 0.5) * 120, lng: (random() - 0.5) * 340 };
      if (regionsWithin(c.lat, c.lng, 1).length === 1) single++;
    }
    expect(single / 500).toBeGreaterThan(0.7);
  });
});
