// A DomainError is the client's answer (RATE_LIMITED, BAD_USER_INPUT…), not a fault: it carries no
// stack. Capturing one, and source-mapping it under tsx when GraphQL copies it, cost ~33 µs per
// refusal, more than the rest of a refused request: a flood of bad requests bought CPU with it.
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../src/errors.ts';

describe('DomainError', () => {
  it('carries no stack frames, and leaves other errors theirs', () => {
    const refusal = new DomainError('RATE_LIMITED', 'too many location updates');
    expect(refusal.stack).not.toContain('    at ');
    expect(new GraphQLError(refusal.message, { originalError: refusal }).stack).not.toContain('    at ');
    expect(new Error('a fault').stack).toContain('    at ');
    expect(refusal).toBeInstanceOf(Error);
    expect(refusal.extensions).toEqual({ code: 'RATE_LIMITED' });
  });
});
