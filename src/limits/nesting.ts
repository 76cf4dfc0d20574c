// How deeply a document nests brackets, braces and parentheses, outside strings and comments:
// one pass, no recursion, so a hostile document ([[[[… twenty thousand deep) is judged without
// being parsed (graphql-js' parser recurses on nesting and overflows its stack).

/** Deeper than this is refused before parsing; real operations nest a dozen levels at most. */
export const MAX_NESTING = 64;

export function nestingDepth(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '"') {
      i = endOfString(source, i);
      if (i < 0) break;
    } else if (c === '#') {
      i = source.indexOf('\n', i);
      if (i < 0) break;
    } else if (c === '[' || c === '{' || c === '(') {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (c === ']' || c === '}' || c === ')') {
      depth -= 1;
    }
  }
  return deepest;
}

/** Index of the last quote of the string starting at `start` ("…" or a """block"""), or -1. */
function endOfString(source: string, start: number): number {
  const BLOCK = '"'.repeat(3);
  if (source.startsWith(BLOCK, start)) {
    const end = source.indexOf(BLOCK, start + 3);
    return end < 0 ? -1 : end + 2;
  }
  for (let i = start + 1; i < source.length; i++) {
    if (source[i] === '\\') i += 1;
    else if (source[i] === '"' || source[i] === '\n') return i;
  }
  return -1;
}
