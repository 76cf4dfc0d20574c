// GraphQL over HTTP and over graphql-ws (the real client library), as clients use them.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, any>; path?: Array<string | number> }>;
}

export async function http<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<T> & { status: number }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as GraphQLResponse<T>) };
}

export interface WsClient {
  client: Client;
  /** Resolves when connection_ack arrived; rejects with the close code when the server closed. */
  connected: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  request<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  subscribe<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Subscription<T>;
  close(): Promise<void>;
}

export interface Subscription<T> {
  /** Next event (or rejects after timeoutMs). */
  next(timeoutMs?: number): Promise<GraphQLResponse<T>>;
  /** Every event received so far. */
  received: Array<GraphQLResponse<T>>;
  stop(): void;
}

/** `headers` go on the upgrade request. */
export function wsConnect(url: string, token?: string, params: Record<string, unknown> = {}, headers?: Record<string, string>): WsClient {
  let onConnected!: () => void;
  let onClosed!: (e: { code: number; reason: string }) => void;
  let onFailed!: (e: Error) => void;
  const connected = new Promise<void>((resolve, reject) => {
    onConnected = resolve;
    onFailed = reject;
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
  connected.catch(() => {});
  const client = createClient({
    url,
    webSocketImpl: headers
      ? class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers });
          }
        }
      : WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...params },
    on: {
      connected: () => onConnected(),
      closed: (event) => {
        const e = event as { code: number; reason: string };
        onClosed({ code: e.code, reason: String(e.reason) });
        onFailed(Object.assign(new Error(`closed ${e.code}`), { code: e.code }));
      },
    },
    onNonLazyError: () => {},
  });
  return {
    client,
    connected,
    closed,
    request: (query, variables = {}) =>
      new Promise((resolve, reject) => {
        let result: GraphQLResponse<any> = {};
        client.subscribe(
          { query, variables },
          {
            next: (r) => (result = r as GraphQLResponse<any>),
            error: (err) => (Array.isArray(err) ? resolve({ errors: err as any }) : reject(err)),
            complete: () => resolve(result),
          },
        );
      }),
    subscribe: <T>(query: string, variables: Record<string, unknown> = {}) => subscribeOn<T>(client, query, variables),
    close: async () => {
      await client.dispose();
    },
  };
}

function subscribeOn<T>(client: Client, query: string, variables: Record<string, unknown>): Subscription<T> {
  const received: Array<GraphQLResponse<T>> = [];
  const waiting: Array<(r: GraphQLResponse<T>) => void> = [];
  let cursor = 0;
  const deliver = (r: GraphQLResponse<T>) => {
    received.push(r);
    const w = waiting.shift();
    if (w) {
      cursor += 1;
      w(r);
    }
  };
  const stop = client.subscribe(
    { query, variables },
    {
      next: (r) => deliver(r as GraphQLResponse<T>),
      error: (err) => deliver({ errors: Array.isArray(err) ? (err as any) : [{ message: String((err as Error)?.message ?? err) }] }),
      complete: () => {},
    },
  );
  return {
    received,
    stop,
    next: (timeoutMs = 5_000) => {
      if (cursor < received.length) return Promise.resolve(received[cursor++]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(done), 1);
          reject(new Error(`no subscription event within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (r: GraphQLResponse<T>) => {
          clearTimeout(timer);
          resolve(r);
        };
        waiting.push(done);
      });
    },
  };
}

/** Polls until check() returns a truthy value (or throws the last failure after timeoutMs). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      lastError = new Error('condition not met');
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
