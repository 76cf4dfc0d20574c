// The schema: importing each domain file registers its types on the builder.
import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.ts';
import './registry.ts';
import './location.ts';
import './ride.ts';
import './offer.ts';
import './pricing.ts';
import './admin.ts';
import './operators.ts';

export const schema = builder.toSchema();

/** What schema.graphql must contain (a test fails when the committed file is stale). */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
