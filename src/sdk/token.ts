// The caller's token: a fixed string, or a provider asked for a fresh one on every (re)connect
// and for every HTTP request (so a refreshed token is used as soon as the app has it).

export type TokenSource = string | (() => string | Promise<string>);

export const readToken = async (token: TokenSource): Promise<string> => (typeof token === 'function' ? token() : token);
