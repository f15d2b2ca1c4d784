import {
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

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
export class CostCounter {
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
