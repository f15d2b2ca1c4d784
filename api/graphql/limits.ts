import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  BREAK,
  getNamedType,
  getNullableType,
  GraphQLError,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
  visit,
} from 'graphql';
import type { Config } from '../config';

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

/** Assumed length of a list that takes no first/last (recentHeartbeats, configuration, …). */
const LIST_SIZE = 10;
/** Relay connections without first/last return this many (Pothos's defaultConnectionSize). */
const DEFAULT_PAGE = 50;
/** A JSON value (metadata, configuration) can be tens of KiB, where another scalar is a few bytes. */
const JSON_COST = 10;

/**
 * Our own cost model rather than graphql-armor's cost rule, which reads first/last only
 * when written inline (a `$first` variable counted as one item) and, run as a validation
 * rule, could not see variables at all. Every field costs 1 (a JSON value 10) for each
 * item it is returned for; a field's items are its first/last (argument, variable or
 * default), or LIST_SIZE for any other list. A connection's first/last counts for its
 * edges and nodes. Introspection costs nothing here: it needs an operator token and is
 * bounded by the schema.
 */
class CostCounter {
  introspects = false;
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  private readonly fragmentCosts = new Map<string, number>();
  private readonly visiting = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly document: DocumentNode,
    private readonly variables: Record<string, unknown>,
  ) {
    for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(def.name.value, def);
  }

  operation(name?: string | null): OperationDefinitionNode | undefined {
    const operations = this.document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    return name ? operations.find((o) => o.name?.value === name) : operations.length === 1 ? operations[0] : undefined;
  }

  total(operation: OperationDefinitionNode): number {
    const root = this.schema.getRootType(operation.operation);
    return root ? this.selections(operation.selectionSet, root) : 0;
  }

  /** Cost of one item of `type` with this selection; `page` is a connection's first/last, owed by its lists. */
  private selections(set: SelectionSetNode, type: GraphQLNamedType, page?: number): number {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : type;
        cost += on ? this.selections(selection.selectionSet, on, page) : 0;
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        cost += this.spread(selection.name.value, page);
      } else {
        const name = selection.name.value;
        if (name === '__schema' || name === '__type') {
          this.introspects = true;
          continue;
        }
        const field = isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
        if (!field) {
          cost += 1;
          continue;
        }
        cost += this.field(field, selection.arguments ?? [], selection.selectionSet, page);
      }
    }
    return cost;
  }

  private field(field: GraphQLField<unknown, unknown>, args: readonly { name: { value: string }; value: ValueNode }[], set: SelectionSetNode | undefined, page?: number): number {
    const named = getNamedType(field.type);
    const isList = isListType(getNullableType(field.type));
    if (!set) return named.name === 'JSON' ? JSON_COST : 1;
    const paged = field.args.some((a) => a.name === 'first' || a.name === 'last');
    const size = paged ? this.pageSize(field, args) : undefined;
    const items = isList ? (size ?? page ?? LIST_SIZE) : 1;
    return items * (1 + this.selections(set, named, isList ? undefined : size));
  }

  private pageSize(field: GraphQLField<unknown, unknown>, args: readonly { name: { value: string }; value: ValueNode }[]): number {
    let size: number | undefined;
    for (const arg of args) {
      if (arg.name.value !== 'first' && arg.name.value !== 'last') continue;
      const value = arg.value.kind === Kind.INT ? Number(arg.value.value) : arg.value.kind === Kind.VARIABLE ? this.variables[arg.value.name.value] : undefined;
      if (typeof value === 'number' && Number.isFinite(value)) size = Math.max(size ?? 0, value);
    }
    const fallback = field.args.find((a) => (a.name === 'first' || a.name === 'last') && typeof a.defaultValue === 'number')?.defaultValue as number | undefined;
    return Math.max(1, size ?? fallback ?? DEFAULT_PAGE);
  }

  private spread(name: string, page?: number): number {
    const key = `${name}\u0000${page ?? ''}`;
    const known = this.fragmentCosts.get(key);
    if (known !== undefined) return known;
    const fragment = this.fragments.get(name);
    // A cycle is a validation error of its own; it adds nothing here.
    if (!fragment || this.visiting.has(name)) return 0;
    const type = this.schema.getType(fragment.typeCondition.name.value);
    this.visiting.add(name);
    const cost = type ? this.selections(fragment.selectionSet, type, page) : 0;
    this.visiting.delete(name);
    this.fragmentCosts.set(key, cost);
    return cost;
  }
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
