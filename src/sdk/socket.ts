// The graphql-ws transport: one lazy socket (a driver's persistent connection), kept open between
// operations, kept alive with pings, reconnected with backoff, with a fresh token from the
// provider on every (re)connect.
//
// Reconnecting: after anything but a refusal. Of the server's close codes (CloseCode in
// src/server.ts), 4403 is final unless its reason is "token expired" (the provider then hands a
// fresh token), and so are 4409 (too many sockets for this identity), 4429 (too many failed
// sign-ins) and graphql-ws' 4400 (bad request). 1001 (the instance shuts down), other closes and
// network failures are retried.
//
// Resending: after a reconnect graphql-ws resends every operation still under way. Queries and
// subscriptions are meant to be; so are the SDK's own mutations, idempotent by construction (see
// the README, "Idempotency"). Any other mutation is not resent: if its socket drops while it is
// under way, the call rejects with OutcomeUnknownError.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import { operationOf } from './documents.js';
import { fromSocketError, isCloseEvent, OutcomeUnknownError, RidematchError, type GraphQLErrorShape } from './errors.js';
import type { Vars } from './http.js';
import type { PersistedDocuments } from './persisted.js';
import { readToken, type TokenSource } from './token.js';

export interface Handler<T> {
  next(value: T): void;
  error?(err: unknown): void;
}

/** The close reason of a 4403 that a fresh token cures (server.ts closeWhenExpired). */
export const TOKEN_EXPIRED = 'token expired';
const FINAL_CLOSE_CODES = new Set([4400, 4403, 4409, 4429]);

export function shouldReconnect(errOrClose: unknown): boolean {
  if (!isCloseEvent(errOrClose)) return true; // the network or the token provider failed: try again
  if (errOrClose.code === 4403) return errOrClose.reason === TOKEN_EXPIRED;
  return !FINAL_CLOSE_CODES.has(errOrClose.code);
}

/** How long an idle socket (no subscription, no request) stays open before it is closed. */
const LAZY_CLOSE_AFTER_MS = 60_000;

function backoff(retries: number): Promise<void> {
  const base = Math.min(10_000, 500 * 2 ** retries);
  return new Promise((resolve) => setTimeout(resolve, base / 2 + Math.random() * (base / 2)));
}

export interface SocketOptions {
  url: string;
  token: TokenSource;
  webSocketImpl: unknown;
  persisted: PersistedDocuments;
  retryAttempts: number;
  keepAliveMs: number;
  /** After the socket came back (not after the first connect). */
  onReconnected(): void;
}

type Result = { data?: unknown; errors?: readonly GraphQLErrorShape[] };

export function socketTransport(options: SocketOptions) {
  const { persisted } = options;
  // Calls under way that must not be resent, each with what to do when their socket drops.
  const unresendable = new Set<() => void>();
  let acknowledged = false;

  const client: Client = createClient({
    url: options.url,
    webSocketImpl: options.webSocketImpl,
    lazy: true,
    // A lazy graphql-ws client closes its socket as soon as no operation is running; a driver
    // reporting every 10 s would then pay a full connect + connection_init per report. Keep it.
    lazyCloseTimeout: LAZY_CLOSE_AFTER_MS,
    keepAlive: options.keepAliveMs,
    retryAttempts: options.retryAttempts,
    shouldRetry: shouldReconnect,
    retryWait: backoff,
    connectionParams: async () => ({ authorization: `Bearer ${await readToken(options.token)}` }),
    on: {
      connected: (_socket, _payload, wasRetry) => {
        acknowledged = true;
        if (wasRetry) options.onReconnected();
      },
      // Runs as the socket closes, before graphql-ws' retry loop (a later microtask) can resend.
      // A socket that never got its ack carried no operation, so only an acknowledged one counts.
      closed: () => {
        if (!acknowledged) return;
        acknowledged = false;
        for (const drop of [...unresendable]) drop();
      },
    },
  });

  /** A query or mutation; `resendable` says whether graphql-ws may resend it after a reconnect. */
  function request<R, V extends Vars>(doc: TypedDocumentNode<R, V>, variables: V, resendable: boolean): Promise<R> {
    return new Promise((resolve, reject) => {
      const send = () => {
        const prepared = persisted.prepare(doc, variables);
        let result: Result | undefined;
        const drop = () => {
          unresendable.delete(drop);
          stop();
          reject(new OutcomeUnknownError(operationOf(doc).name));
        };
        const stop = client.subscribe(prepared.payload, {
          next: (r) => (result = r),
          error: (err) => {
            unresendable.delete(drop);
            if (persisted.refusedHash(doc, prepared, Array.isArray(err) ? err : undefined)) send();
            else reject(fromSocketError(err));
          },
          complete: () => {
            unresendable.delete(drop);
            if (result?.errors?.length) reject(new RidematchError(result.errors));
            else resolve(result?.data as R);
          },
        });
        if (!resendable) unresendable.add(drop);
      };
      send();
    });
  }

  /** A subscription; graphql-ws resubscribes it after every reconnect. Returns its stop function. */
  function subscribe<R, V extends Vars>(doc: TypedDocumentNode<R, V>, variables: V, handler: Handler<R>): () => void {
    let stop = () => {};
    const start = () => {
      const prepared = persisted.prepare(doc, variables);
      stop = client.subscribe(prepared.payload, {
        next: (r) => (r.errors?.length ? handler.error?.(new RidematchError(r.errors)) : handler.next(r.data as R)),
        error: (err) => {
          if (persisted.refusedHash(doc, prepared, Array.isArray(err) ? err : undefined)) start();
          else handler.error?.(fromSocketError(err));
        },
        complete: () => {},
      });
    };
    start();
    return () => stop();
  }

  return { client, request, subscribe };
}
