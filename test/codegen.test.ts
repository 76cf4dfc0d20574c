// Issue 6: the committed SDK code is exactly what GraphQL Code Generator produces now.
import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import { expect, it } from 'vitest';
import config from '../codegen.ts';

it('src/sdk/generated is up to date (run `npm run codegen` after changing operations or the schema)', async () => {
  const outputs = await generate({ ...config, silent: true }, false);
  expect(outputs.length).toBeGreaterThan(0);
  for (const { filename, content } of outputs) {
    expect(readFileSync(filename, 'utf8'), filename).toBe(content);
  }
});
