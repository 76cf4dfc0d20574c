// Envelop plugins shared by both transports (Yoga runs them on HTTP; server.ts runs the same
// envelop for every graphql-ws operation): typed error codes for what graphql-js reports
// untyped, the per-identity operation budget, subscriptions over graphql-ws only, and
// per-operation metrics.
import { createCounter, createHistogram, usePrometheus, type FillLabelsFnParams } from '@graphql-yoga/plugin-prometheus';
import { GraphQLError, Kind, subscribe, type DocumentNode, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
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

/**
 * Subscriptions run on graphql-js's own subscribe rather than Yoga's default executor
 * (@graphql-tools/executor, made for @defer and @stream, which this schema does not use): an open
 * subscription holds about 1.7 KiB less of the heap with it, and every driver holds one all day
 * (measured with bench/heap-per-socket.ts, see the README).
 */
export function graphqlJsSubscriptions(): Plugin {
  return { onSubscribe: ({ setSubscribeFn }) => setSubscribeFn(subscribe) };
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

/** The operation's first root field, e.g. `updateDriverLocation` ('' when there is none). */
function rootFieldOf(document: DocumentNode | undefined, operationName: string | undefined): string {
  const op = document && (operationOf(document, operationName) ?? operationOf(document));
  const first = op?.selectionSet.selections[0];
  return first?.kind === Kind.FIELD ? first.name.value : '';
}

/**
 * Per-operation figures on both transports: `graphql_envelop_request_duration` (queries and
 * mutations, parse to result) and `graphql_envelop_error_result` (errors by phase and code).
 * Labelled by operation type and first root field, which the schema bounds; never by the
 * client-chosen operation name, which any caller could vary without end. A document that failed
 * validation gets no field label (its fields are not known to exist). The other metrics of the
 * plugin are off: this instance's own histograms cover what matters, and each costs per operation.
 */
export function operationMetrics(registry: Registry): Plugin {
  const labels = (params: FillLabelsFnParams, ranFields: boolean) => ({
    operationType: params.operationType ?? '',
    rootField: ranFields ? rootFieldOf(params.document, params.operationName) : '',
  });
  const errorCode = (error: unknown) => String((error as GraphQLError | undefined)?.extensions?.code ?? '');
  return usePrometheus({
    registry,
    endpoint: false, // served by server.ts, on its own port or behind a token
    metrics: {
      graphql_envelop_request_duration: createHistogram({
        registry,
        histogram: { name: 'graphql_envelop_request_duration', help: 'Time to run a GraphQL query or mutation (seconds)', labelNames: ['operationType', 'rootField'] },
        fillLabelsFn: (params) => labels(params, true),
        phases: ['execute'],
      }),
      graphql_envelop_error_result: createCounter({
        registry,
        counter: { name: 'graphql_envelop_error_result', help: 'Errors in GraphQL results, by phase and code', labelNames: ['operationType', 'rootField', 'phase', 'code'] },
        fillLabelsFn: (params) => {
          const phase = params.errorPhase ?? '';
          return { ...labels(params, phase === 'execute' || phase === 'subscribe'), phase, code: errorCode(params.error) };
        },
      }),
      graphql_envelop_deprecated_field: false,
      graphql_envelop_request: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_schema_change: false,
      graphql_yoga_http_duration: false,
    },
  });
}
