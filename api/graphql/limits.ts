import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  BREAK,
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  visit,
} from 'graphql';
import type { Config } from '../config';
import { CostCounter } from './cost';

/** What one GraphQL operation may ask for; each refusal names the variable that sets it. */
export interface GraphQLLimits {
  maxTokens: number;
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
}

const refusal = (message: string, limit: string, status = 400, code = 'GRAPHQL_VALIDATION_FAILED') =>
  new GraphQLError(message, { extensions: { code, limit, http: { status, spec: false } } });

/**
 * Parses within the token limit. graphql-js counts tokens as it lexes and stops at the
 * limit, so an oversized document costs no more than the limit to refuse, and validation,
 * whose check of repeated fields is quadratic, never sees one.
 */
export function parseWithin(source: string, limits: GraphQLLimits): DocumentNode {
  // The parser recurses once per level of nesting; refused before it can run out of stack.
  if (nestingOf(source) > MAX_NESTING) {
    throw refusal(`the document nests brackets deeper than ${MAX_NESTING} levels`, 'nesting');
  }
  let document: DocumentNode;
  try {
    document = parse(source, { maxTokens: limits.maxTokens });
  } catch (err) {
    if (err instanceof GraphQLError && /contains more th\w+ \d+ tokens/.test(err.message)) {
      throw refusal(`the document has more than ${limits.maxTokens} tokens (limit: GRAPHQL_MAX_TOKENS); send a smaller one`, 'GRAPHQL_MAX_TOKENS');
    }
    throw err;
  }
  const long = longName(document);
  if (long) throw refusal(`the document has a name of ${long.length} characters ("${long.slice(0, 40)}…"); names are at most ${MAX_NAME_LENGTH}`, 'name length');
  const repeated = repeatedFields(document);
  if (repeated) throw refusal(`the document ${repeated}; ask for each field once`, 'repeated fields');
  return document;
}

/**
 * Longest name (of a field, alias, argument, type, fragment, variable or enum value) a
 * document may hold. Validation measures an unknown name's distance to every name it
 * might have meant, in time proportional to its length: a 900 KB field name held the
 * event loop for half a second. The schema's longest names are under 40 characters.
 */
export const MAX_NAME_LENGTH = 256;

/** The first name (or enum value, a name too) in the document longer than MAX_NAME_LENGTH, if any. */
function longName(document: DocumentNode): string | undefined {
  let found: string | undefined;
  const check = (node: { value: string }) => {
    if (node.value.length <= MAX_NAME_LENGTH) return undefined;
    found = node.value;
    return BREAK;
  };
  visit(document, { Name: check, EnumValue: check });
  return found;
}

/** Far beyond any real document (the dashboard's deepest nests 8), far below a stack overflow. */
const MAX_NESTING = 128;
/** Times one response path may be asked for: the fragments of real documents repeat `id` a few times. */
export const MAX_FIELD_REPEATS = 50;
/** Fields a document may expand to through its fragments. */
export const MAX_EXPANDED_FIELDS = 10_000;

/**
 * Validation compares every two fields that answer under one response path (the
 * repeated-fields check, quadratic), so within the token limit 998 repeats of one field
 * cost it half a million comparisons: 35–120 ms of one request's event loop. Counting
 * the fields of each path first, through inline fragments and fragment spreads as
 * validation merges them, is linear and bounds that work.
 * Returns what is wrong, or undefined.
 */
function repeatedFields(document: DocumentNode): string | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const counts = new Map<string, number>();
  const visiting = new Set<string>();
  let expanded = 0;
  const walk = (set: SelectionSetNode, path: string): string | undefined => {
    for (const selection of set.selections) {
      let found: string | undefined;
      if (selection.kind === Kind.FIELD) {
        if (++expanded > MAX_EXPANDED_FIELDS) return `expands to more than ${MAX_EXPANDED_FIELDS} fields through its fragments`;
        const key = `${path}.${(selection.alias ?? selection.name).value}`;
        const n = (counts.get(key) ?? 0) + 1;
        if (n > MAX_FIELD_REPEATS) return `asks for ${key.slice(key.indexOf('.') + 1)} more than ${MAX_FIELD_REPEATS} times`;
        counts.set(key, n);
        if (selection.selectionSet) found = walk(selection.selectionSet, key);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        found = walk(selection.selectionSet, path);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // An unknown or cyclic spread is a validation error of its own.
        if (!fragment || visiting.has(name)) continue;
        visiting.add(name);
        found = walk(fragment.selectionSet, path);
        visiting.delete(name);
      }
      if (found) return found;
    }
    return undefined;
  };
  // Each operation and each fragment on its own, as validation checks them.
  let root = 0;
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION && def.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const found = walk(def.selectionSet, String(root++));
    if (found) return found;
  }
  return undefined;
}

/** The deepest nesting of { [ ( in a document, outside strings and comments; linear, no recursion. */
function nestingOf(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 123 || c === 91 || c === 40) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 125 || c === 93 || c === 41) depth--;
    else if (c === 35 /* # */) {
      while (i < source.length && source.charCodeAt(i) !== 10 && source.charCodeAt(i) !== 13) i++;
    } else if (c === 34 /* " */) {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        i = end < 0 ? source.length : end + 2;
      } else {
        for (i++; i < source.length && source.charCodeAt(i) !== 34 && source.charCodeAt(i) !== 10; i++) if (source.charCodeAt(i) === 92) i++;
      }
    }
  }
  return deepest;
}

/**
 * graphql-armor's depth, alias and directive rules, reporting their refusal as a
 * validation error (armor throws by default, which yoga answers with 200).
 */
export function limitRules(limits: GraphQLLimits): ValidationRule[] {
  const report = (limit: string) => [
    (ctx: ValidationContext | null, err: GraphQLError) => ctx?.reportError(refusal(`${err.message.replace(/^Syntax Error: /, '')} (limit: ${limit})`, limit)),
  ];
  const common = { propagateOnRejection: false, exposeLimits: true };
  return [
    maxDepthRule({ ...common, n: limits.maxDepth, onReject: report('GRAPHQL_MAX_DEPTH') }),
    maxAliasesRule({ ...common, n: limits.maxAliases, onReject: report('GRAPHQL_MAX_ALIASES') }),
    maxDirectivesRule({ ...common, n: limits.maxDirectives, onReject: report('GRAPHQL_MAX_DIRECTIVES') }),
  ];
}

/**
 * Checks that depend on the caller and the variables, so they run per request, after
 * validation (whose results yoga caches per document) and before any resolver:
 * introspection for operator tokens only, and the cost limit.
 */
export function operationRefusal(args: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  role?: string;
  limits: GraphQLLimits;
}): GraphQLError | undefined {
  const cost = new CostCounter(args.schema, args.document, args.variables ?? {});
  const operation = cost.operation(args.operationName);
  if (!operation) return undefined;
  const total = cost.total(operation);
  if (cost.introspects && args.role !== 'admin' && args.role !== 'viewer') {
    return refusal('introspection (__schema, __type) needs an admin or viewer token', 'introspection', 403, 'FORBIDDEN');
  }
  if (total > args.limits.maxCost) {
    return refusal(
      `the query would cost ${Math.round(total)}, over the limit of ${args.limits.maxCost} (limit: GRAPHQL_MAX_COST); ` +
        'ask for fewer items with first/last, fewer fields or fewer aliases, or split it',
      'GRAPHQL_MAX_COST',
    );
  }
  return undefined;
}

export function limitsFromConfig(config: Config): GraphQLLimits {
  return {
    maxTokens: config.graphqlMaxTokens,
    maxDepth: config.graphqlMaxDepth,
    maxAliases: config.graphqlMaxAliases,
    maxDirectives: config.graphqlMaxDirectives,
    maxCost: config.graphqlMaxCost,
  };
}
