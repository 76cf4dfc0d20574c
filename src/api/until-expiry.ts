// A subscription that runs on a token of its own (an anonymous socket, as GraphiQL sends one in
// each operation's extensions.headers) must not outlive that token: the socket's own expiry timer
// covers only the connection_init token. At `expiresAt` the stream is ended upstream (its Redis
// subscriptions released) and the client gets one last result saying why, then complete.
import { GraphQLError, type ExecutionResult } from 'graphql';
import { MAX_TIMER_MS } from '../clock.ts';

export function untilExpiry(source: AsyncIterable<ExecutionResult>, expiresAt: number): AsyncIterableIterator<ExecutionResult> {
  const upstream = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  let done = false;
  const expiry = new Promise<'expired'>((resolve) => {
    const arm = () => {
      const wait = expiresAt - Date.now();
      timer = setTimeout(() => (wait > MAX_TIMER_MS ? arm() : resolve('expired')), Math.max(0, Math.min(wait, MAX_TIMER_MS)));
      timer.unref();
    };
    arm();
  });
  const finish = async () => {
    done = true;
    clearTimeout(timer);
    await upstream.return?.();
  };
  return {
    async next(): Promise<IteratorResult<ExecutionResult>> {
      if (done) return { value: undefined, done: true };
      if (expired) {
        await finish();
        return { value: undefined, done: true };
      }
      const result = await Promise.race([upstream.next(), expiry]);
      if (result === 'expired') {
        expired = true;
        void upstream.return?.();
        return { value: { errors: [new GraphQLError('token expired', { extensions: { code: 'UNAUTHENTICATED' } })] }, done: false };
      }
      if (result.done) await finish();
      return result;
    },
    async return(): Promise<IteratorResult<ExecutionResult>> {
      await finish();
      return { value: undefined, done: true };
    },
    async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
