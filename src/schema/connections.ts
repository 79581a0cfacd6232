// Connections: one shared connection type per node type (`TaskConnection`,
// `TaskEdge`, declared next to the node), so every list of tasks has the same
// type and one fragment fits them all. Each has `edges`, `nodes`, `pageInfo`
// and `totalCount` (builder.ts).

/**
 * A page of a connection with its list's count: `count` runs the COUNT query
 * over the same filter and caller as the page (cursor bounds aside), and only
 * when a client selects totalCount.
 */
export async function counted<C extends object>(
  page: Promise<C> | C,
  count: () => Promise<number>,
): Promise<C & { totalCount: () => Promise<number> }> {
  return { ...(await page), totalCount: count };
}
