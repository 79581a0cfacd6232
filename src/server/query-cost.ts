// The query cost limit (GRAPHQL_MAX_COST): a validation rule, so it runs once
// per document in the pipeline's validation cache, on HTTP, SSE and
// WebSocket alike, before anything executes.
//
// The rule (README, "Pages and query cost"): the cost is the number of
// objects an operation can return. A field of object type costs 1 plus its
// selection; scalar and enum fields cost nothing (the depth, alias and token
// limits bound those). A connection's `edges` and `nodes` count its page
// size times one item: `first` or `last` when written as a number, the
// largest page (PAGE_SIZE.max) when given by a variable (validation runs
// before variables are known), the default page otherwise. Any other list
// of objects counts LIST_SIZE items. So a full page of 100 tasks with every
// scalar field costs 202 (302 with each one's source task), and a page of 100
// tenants each with a page of 100 tasks 20,301.
//
// graphql-armor's cost limit, used before, counted a variable `first` as 1
// (a nested list of 100 × 100 rows passed as cheap), multiplied by depth
// whatever the rows cost, and called its refusal a "Syntax Error".
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  typeFromAST,
  type ASTVisitor,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { PAGE_SIZE } from '../schema/cursors.ts';

/** What a list of objects that is not a connection's page counts as (apiKeys, attemptLog, usageReport rows…). */
export const LIST_SIZE = 10;

/** The rows a connection field's page holds, as far as the document says. */
function pageSize(node: FieldNode, field: GraphQLField<unknown, unknown>): number | null {
  if (!field.args.some((arg) => arg.name === 'first' || arg.name === 'last')) return null;
  const given = node.arguments?.find((arg) => arg.name.value === 'first') ?? node.arguments?.find((arg) => arg.name.value === 'last');
  if (!given) return PAGE_SIZE.default;
  if (given.value.kind === Kind.INT) return Math.max(0, Math.min(Number(given.value.value), PAGE_SIZE.max));
  if (given.value.kind === Kind.NULL) return PAGE_SIZE.default;
  // A variable (or a value the argument's own validation refuses): the largest page.
  return PAGE_SIZE.max;
}

/** Costs of selections in one document (fragments priced once per page size). */
class QueryCost {
  /** A fragment's cost inside a connection of a given page size (null: outside one). */
  private readonly fragments = new Map<string, number>();
  private readonly visiting = new Set<string>();

  constructor(private readonly context: ValidationContext) {}

  /** The cost of a selection of `type`; `page` is the page size when `type` is a connection. */
  selection(set: SelectionSetNode, type: GraphQLCompositeType, page: number | null): number {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        cost += this.field(selection, type, page);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? typeFromAST(this.context.getSchema(), selection.typeCondition) : type;
        if (on && isCompositeType(on)) cost += this.selection(selection.selectionSet, on, page);
      } else {
        cost += this.fragment(selection.name.value, page);
      }
    }
    return cost;
  }

  private field(node: FieldNode, parent: GraphQLCompositeType, page: number | null): number {
    // Unknown fields (and __typename, __schema, __type) are other rules' business, and free here.
    const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    if (!field || !node.selectionSet) return 0;
    const type = getNamedType(field.type);
    if (!isCompositeType(type)) return 0;
    const one = 1 + this.selection(node.selectionSet, type, pageSize(node, field));
    if (!isListType(getNullableType(field.type))) return one;
    const items = page !== null && (node.name.value === 'edges' || node.name.value === 'nodes') ? page : LIST_SIZE;
    return items * one;
  }

  /** Each fragment once per page size, so fragments spreading fragments cost linear time; a cycle costs 0 (another rule refuses it). */
  private fragment(name: string, page: number | null): number {
    const key = `${name}\u0000${page}`;
    const known = this.fragments.get(key);
    if (known !== undefined) return known;
    const fragment = this.context.getFragment(name);
    if (!fragment || this.visiting.has(key)) return 0;
    const on = typeFromAST(this.context.getSchema(), fragment.typeCondition);
    if (!on || !isCompositeType(on)) return 0;
    this.visiting.add(key);
    const cost = this.selection(fragment.selectionSet, on, page);
    this.visiting.delete(key);
    this.fragments.set(key, cost);
    return cost;
  }
}

/** The validation rule: an operation over `maxCost` is QUERY_TOO_COSTLY, naming the limit and the cost. */
export function queryCostRule(maxCost: number) {
  return (context: ValidationContext): ASTVisitor => {
    const cost = new QueryCost(context);
    return {
      OperationDefinition(operation) {
        const root = context.getSchema().getRootType(operation.operation);
        if (!root) return false;
        const total = cost.selection(operation.selectionSet, root, null);
        if (total > maxCost) {
          context.reportError(
            new GraphQLError(
              `Query cost ${total} is over the limit of ${maxCost} (GRAPHQL_MAX_COST): ask for smaller pages or fewer nested lists`,
              { nodes: [operation], extensions: { code: 'QUERY_TOO_COSTLY', maxCost, cost: total } },
            ),
          );
        }
        return false;
      },
    };
  };
}

/** The rule as a pipeline plugin (server/yoga.ts). */
export function useQueryCost(maxCost: number): Plugin {
  const rule = queryCostRule(maxCost);
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}
