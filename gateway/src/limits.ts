import {
  GraphQLError,
  getNamedType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  valueFromAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** What one operation may ask for (docs/security.md, "Limits"). */
export interface QueryLimits {
  /** Deepest field nesting. */
  maxDepth: number;
  /** Highest estimated cost (fields, each list multiplied by its page size). */
  maxCost: number;
  /** Largest `first` of any field. */
  maxPageSize: number;
  /**
   * Most list fields (fields with a `first` argument) in one operation, however small their
   * pages: each is a database query (a search, a count), so `first: 0` does not make it free.
   */
  maxLists: number;
}

/** The depth and estimated cost of an operation. */
export interface OperationSize {
  depth: number;
  cost: number;
  /** List fields in the document, each counted once (nested ones are batched per level). */
  lists: number;
}

function limitError(code: string, message: string, extra: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extra, code, http: { status: 400 } } });
}

/**
 * Measure an operation against the schema: depth is the longest chain of nested fields; cost
 * counts every field once, and multiplies what is under a field with a `first` argument by that
 * page size (the argument's default when absent), so `users(first: 500) { nodes { groups { … } } }`
 * costs what it can return. Throws BAD_USER_INPUT for a `first` above `maxPageSize`.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  maxPageSize: number,
): OperationSize {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === 'FragmentDefinition') fragments.set(def.name.value, def);
  }
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return { depth: 0, cost: 0, lists: 0 };

  const pageSize = (
    field: GraphQLField<unknown, unknown>,
    node: {
      arguments?: readonly { name: { value: string }; value: import('graphql').ValueNode }[];
    },
  ): number => {
    const arg = field.args.find((a) => a.name === 'first');
    if (!arg) return 1;
    const given = node.arguments?.find((a) => a.name.value === 'first');
    const value = given ? valueFromAST(given.value, arg.type, variables) : arg.defaultValue;
    const n = typeof value === 'number' ? value : 0;
    if (n > maxPageSize) {
      throw limitError(
        'BAD_USER_INPUT',
        `first: at most ${maxPageSize} items a page (${field.name})`,
        {
          field: 'first',
          maxPageSize,
        },
      );
    }
    return Math.max(1, n);
  };

  const walk = (
    set: SelectionSetNode,
    type: GraphQLCompositeType,
    seen: ReadonlySet<string>,
  ): OperationSize => {
    let depth = 0;
    let cost = 0;
    let lists = 0;
    for (const sel of set.selections) {
      let inner: OperationSize;
      if (sel.kind === 'Field') {
        if (sel.name.value === '__typename') continue;
        const fields = isObjectType(type) || isInterfaceType(type) ? type.getFields() : {};
        const field = fields[sel.name.value];
        if (!field) {
          // Introspection (__schema, __type) and unknown fields (validation reports those).
          inner = { depth: 1, cost: 1, lists: 0 };
        } else {
          const named = getNamedType(field.type);
          const below =
            sel.selectionSet && isCompositeType(named)
              ? walk(sel.selectionSet, named, seen)
              : { depth: 0, cost: 0, lists: 0 };
          const isList = field.args.some((a) => a.name === 'first');
          inner = {
            depth: 1 + below.depth,
            cost: 1 + pageSize(field, sel) * below.cost,
            lists: below.lists + (isList ? 1 : 0),
          };
        }
      } else if (sel.kind === 'InlineFragment') {
        const cond = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        inner = walk(sel.selectionSet, isCompositeType(cond) ? cond : type, seen);
      } else {
        const frag = fragments.get(sel.name.value);
        if (!frag || seen.has(frag.name.value)) continue;
        const cond = schema.getType(frag.typeCondition.name.value);
        inner = walk(
          frag.selectionSet,
          isCompositeType(cond) ? cond : type,
          new Set([...seen, frag.name.value]),
        );
      }
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
      lists += inner.lists;
    }
    return { depth, cost, lists };
  };
  return walk(operation.selectionSet, root, new Set());
}

/** Throws QUERY_TOO_DEEP / QUERY_TOO_COMPLEX (cost or lists) / BAD_USER_INPUT when the operation is over a limit. */
export function enforceLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  limits: QueryLimits,
): OperationSize {
  const size = measureOperation(schema, document, operation, variables, limits.maxPageSize);
  if (size.depth > limits.maxDepth) {
    throw limitError(
      'QUERY_TOO_DEEP',
      `the operation nests ${size.depth} fields deep; at most ${limits.maxDepth} are allowed`,
      { depth: size.depth, maxDepth: limits.maxDepth },
    );
  }
  if (size.cost > limits.maxCost) {
    throw limitError(
      'QUERY_TOO_COMPLEX',
      `the operation could return about ${size.cost} fields; at most ${limits.maxCost} are allowed (ask for smaller pages)`,
      { cost: size.cost, maxCost: limits.maxCost },
    );
  }
  if (size.lists > limits.maxLists) {
    throw limitError(
      'QUERY_TOO_COMPLEX',
      `the operation asks for ${size.lists} lists, each a database query; at most ${limits.maxLists} are allowed (send fewer aliases)`,
      { lists: size.lists, maxLists: limits.maxLists },
    );
  }
  return size;
}
