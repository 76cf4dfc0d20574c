// Limits on every GraphQL operation, signed in or not, enforced before anything executes and on
// both transports (the graphql-ws path runs the same envelop: see server.ts):
// - before parsing: nesting deeper than MAX_NESTING is a typed 400 (limits/nesting.ts);
// - parse: at most GRAPHQL_MAX_TOKENS tokens (graphql-armor; the parser stops counting there,
//   so a 60,000-alias document costs microseconds); a parser stack overflow that still happens is
//   a typed 400 (api/plugins.ts errorCodes);
// - validation: depth, aliases and directives (graphql-armor), no "did you mean" suggestions
//   unless introspection is on, no introspection unless INTROSPECTION allows it;
// - cost: list fields weighted by their limit arguments (@pothos/plugin-complexity, see
//   schema/builder.ts), checked before the root fields run.
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { OperationLimits } from '../config.ts';
import { MAX_NESTING, nestingDepth } from './nesting.ts';

/** Every refusal carries this code and names the limit. */
export const OPERATION_LIMIT = 'OPERATION_LIMIT';

const tag = (limit: string) => (_ctx: unknown, error: GraphQLError) => {
  Object.assign(error.extensions as Record<string, unknown>, { code: OPERATION_LIMIT, limit });
};

export function operationLimitPlugins(limits: OperationLimits, opts: { introspection: boolean }): Plugin[] {
  const armor = new EnvelopArmor({
    maxTokens: { n: limits.maxTokens, onReject: [tag('tokens')] },
    maxDepth: { n: limits.maxDepth, onReject: [tag('depth')], ignoreIntrospection: true },
    // armor lets aliases of __typename through by default: exactly what the 60,000-alias attack uses.
    maxAliases: { n: limits.maxAliases, allowList: [], onReject: [tag('aliases')] },
    maxDirectives: { n: limits.maxDirectives, onReject: [tag('directives')] },
    costLimit: { enabled: false }, // cost is weighted by arguments: @pothos/plugin-complexity
    blockFieldSuggestion: { enabled: !opts.introspection },
  });
  return [
    nestingLimit(),
    ...(armor.protect().plugins as Plugin[]),
    ...(opts.introspection ? [] : [validationRule(NoSchemaIntrospectionCustomRule)]),
  ];
}

export function tooDeeplyNested(): GraphQLError {
  return new GraphQLError(`the document nests deeper than ${MAX_NESTING} levels`, {
    extensions: { code: OPERATION_LIMIT, limit: 'nesting', http: { status: 400 } },
  });
}

/** Refuses documents nested too deeply before Yoga parses them (HTTP; server.ts does it for WS). */
function nestingLimit(): Plugin {
  return {
    onParams({ params }) {
      if (typeof params.query === 'string' && nestingDepth(params.query) > MAX_NESTING) throw tooDeeplyNested();
    },
  };
}

function validationRule(rule: ValidationRule): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}
