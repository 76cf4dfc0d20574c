// Envelop plugins shared by both transports (Yoga runs them on HTTP; server.ts runs the same
// envelop for every graphql-ws operation): typed error codes for what graphql-js reports
// untyped, the per-identity operation budget, and subscriptions over graphql-ws only.
import { GraphQLError, Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { DomainError } from '../errors.ts';
import type { GraphQLContext } from '../schema/builder.ts';
import { toGraphQLError } from '../schema/errors.ts';
import { tooDeeplyNested } from '../limits/operation-limits.ts';

type Errors = ReadonlyArray<Error>;

/** Stamps a code on errors that have none (parse and validation errors are ours to mutate). */
function withCode(errors: Errors | undefined, code: string, status?: number): void {
  for (const error of errors ?? []) {
    if (!(error instanceof GraphQLError)) continue;
    const extensions = error.extensions as Record<string, unknown>;
    if (extensions.code) continue;
    extensions.code = code;
    if (status) extensions.http = { status };
  }
}

/**
 * Errors with no path never reached a resolver: variables that did not coerce. graphql-jit
 * reports them with its own error class (read-only, no extensions), so they are replaced.
 */
function codedVariableErrors(result: ExecutionResult): ExecutionResult | null {
  const errors = result.errors;
  if (!errors?.some((e) => !e.path && !e.extensions?.code)) return null;
  return {
    ...result,
    errors: errors.map((e) => (e.path || e.extensions?.code ? e : new GraphQLError(e.message, { extensions: { code: 'BAD_USER_INPUT' } }))),
  };
}

/** Parse, validation and variable errors get the codes clients branch on. */
export function errorCodes(): Plugin {
  const stampResult = ({ result, setResult }: { result: unknown; setResult: (r: ExecutionResult) => void }) => {
    if (isAsyncIterable(result)) return;
    const coded = codedVariableErrors(result as ExecutionResult);
    if (coded) setResult(coded);
  };
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parseFn(source, options);
        } catch (err) {
          // Nesting is refused before parsing; should the parser's stack still overflow, that is
          // the client's document, not a crash.
          if (err instanceof RangeError) throw tooDeeplyNested();
          if (err instanceof GraphQLError) withCode([err], 'GRAPHQL_PARSE_FAILED', 400);
          throw err;
        }
      });
    },
    onValidate() {
      return ({ result }) => withCode(result, 'GRAPHQL_VALIDATION_FAILED', 400);
    },
    onExecute: () => ({ onExecuteDone: stampResult as never }),
    onSubscribe: () => ({ onSubscribeResult: stampResult as never }),
  };
}

const isAsyncIterable = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';

/** The operation the request runs (by operationName, or the only one). */
function operationOf(document: DocumentNode, name?: string | null): OperationDefinitionNode | undefined {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return name ? ops.find((o) => o.name?.value === name) : ops.length === 1 ? ops[0] : undefined;
}

/** Location updates have their own budget, inside the ping's script (drivers/lua/ping.lua). */
const SEPARATELY_LIMITED = new Set(['updateDriverLocation', '__typename']);

/**
 * Every root field an operation runs counts against its caller's budget (aliases count one each),
 * per identity or, anonymous, per address. One Redis call per operation.
 */
export function operationBudget(): Plugin<GraphQLContext> {
  const charge = async (args: ExecutionArgs, refuse: (result: { errors: GraphQLError[] }) => void) => {
    const ctx = args.contextValue as GraphQLContext;
    const op = operationOf(args.document, args.operationName);
    const points = (op?.selectionSet.selections ?? []).filter((s) => s.kind !== Kind.FIELD || !SEPARATELY_LIMITED.has(s.name.value)).length;
    if (points === 0) return;
    const who = ctx.identity ? `${ctx.identity.role}:${ctx.identity.id}` : `anon:${ctx.clientAddress}`;
    try {
      await ctx.services.limits.consume(ctx.identity?.role === 'admin' ? 'adminOperations' : 'operations', who, points);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const retryAfterS = String(Math.ceil(Number(err.details.retryAfterMs ?? 1000) / 1000));
      refuse({ errors: [toGraphQLError(err, { status: 429, headers: { 'retry-after': retryAfterS } })] });
    }
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => charge(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => charge(args, setResultAndStopExecution),
  };
}

/** Yoga would also stream subscriptions over HTTP (SSE): one transport, with its limits, is enough. */
export function subscriptionsOverWebSocketOnly(): Plugin<GraphQLContext> {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      if ((args.contextValue as GraphQLContext).transport === 'ws') return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError('subscriptions are served over graphql-ws (WebSocket) only', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          }),
        ],
      });
    },
  };
}
