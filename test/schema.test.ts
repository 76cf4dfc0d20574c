// Issue 2, acceptance 3: the committed schema.graphql is exactly the printed Pothos schema.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { printedSchema } from '../src/schema/index.ts';

it('schema.graphql equals the printed Pothos schema (run `npm run schema:print` after changing the schema)', () => {
  const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
  expect(committed).toBe(printedSchema());
});
