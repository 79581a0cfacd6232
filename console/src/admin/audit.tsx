import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox } from '../errors.tsx';
import { formatTime } from '../format.ts';
import { useRefetchOn } from '../refresh.ts';

const AuditQuery = graphql(`
  query ConsoleAudit($tenantId: ID, $after: String) {
    auditLog(tenantId: $tenantId, first: 10, after: $after) {
      edges {
        node {
          id
          action
          createdAt
          details
          actor {
            kind
            prefix
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export function AuditLog(props: { tenantId: string; changes: number }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const [{ data, error, fetching }, refetch] = useQuery({ query: AuditQuery, variables: { tenantId: props.tenantId, after } });
  useRefetchOn(props.changes, fetching, refetch);
  const page = data?.auditLog;
  return (
    <section className="card">
      <h2>Audit log</h2>
      <ErrorBox error={error} />
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Action</th>
            <th>By</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {page?.edges.map(({ node }) => (
            <tr key={node.id} data-testid="audit-row">
              <td>{formatTime(node.createdAt)}</td>
              <td>{node.action}</td>
              <td>
                {node.actor.kind}
                {node.actor.prefix ? ` ${node.actor.prefix}…` : ''}
              </td>
              <td>
                <code className="details">{JSON.stringify(node.details)}</code>
              </td>
            </tr>
          ))}
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
