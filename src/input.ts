// Text that clients send (names, vehicles, ids): refused when it holds control characters (NUL
// and the rest of C0/C1, DEL) or invisible direction overrides (bidi embeddings, overrides and
// isolates, which can make a name display as something else), or when it is too long.
import { badInput } from './errors.ts';

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;

/** Trimmed text of 1..max characters, or BAD_USER_INPUT naming the field. */
export function cleanText(field: string, value: string, max: number): string {
  if (FORBIDDEN.test(value)) throw badInput(field, 'must not contain control or text-direction characters');
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > max) throw badInput(field, `must be 1-${max} characters`);
  return trimmed;
}

/** Whether a text is free of control and text-direction characters (for values outside GraphQL input, e.g. token claims). */
export function isCleanText(value: string): boolean {
  return !FORBIDDEN.test(value);
}
