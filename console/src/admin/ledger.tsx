import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox } from '../errors.tsx';
import { formatTime } from '../format.ts';
import { useRefetchOn } from '../refresh.ts';

const LedgerQuery = graphql(`
  query ConsoleLedger($tenantId: ID!, $after: String) {
    ledgerEntries(tenantId: $tenantId, first: 10, after: $after) {
      edges {
        node {
          id
          kind
          amount
          balanceAfter
          note
          createdAt
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** The statement, newest first, ten lines a page; it pages forward only, so "newer" goes back through the cursors seen. */
export function Ledger(props: { tenantId: string; changes: number }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const [{ data, error, fetching }, refetch] = useQuery({ query: LedgerQuery, variables: { tenantId: props.tenantId, after } });
  useRefetchOn(props.changes, fetching, refetch);
  const page = data?.ledgerEntries;
  return (
    <section className="card">
      <h2>Ledger statement</h2>
      <ErrorBox error={error} />
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Kind</th>
            <th className="num">Amount</th>
            <th className="num">Balance after</th>
            <th>Note</th>
          </tr>
        </thead>
        <tbody>
          {page?.edges.map(({ node }) => (
            <tr key={node.id} data-testid="ledger-row">
              <td>{formatTime(node.createdAt)}</td>
              <td>{node.kind}</td>
              <td className={`num ${node.amount < 0 ? 'neg' : 'pos'}`}>{node.amount > 0 ? `+${node.amount}` : node.amount}</td>
              <td className="num">{node.balanceAfter}</td>
              <td>{node.note ?? ''}</td>
            </tr>
          ))}
          {page && page.edges.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No entries yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="inline">
        <button className="secondary small" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span className="muted">Page {cursors.length}</span>
        <button
          className="secondary small"
          disabled={!page?.pageInfo.hasNextPage || fetching}
          onClick={() => page?.pageInfo.endCursor && setCursors([...cursors, page.pageInfo.endCursor])}
        >
          Older
        </button>
      </div>
    </section>
  );
}
