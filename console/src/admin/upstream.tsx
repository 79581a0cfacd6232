import { useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox } from '../errors.tsx';
import { formatTime } from '../format.ts';

const UpstreamHealthQuery = graphql(`
  query ConsoleUpstreamHealth {
    upstreamHealth {
      state
      since
      lastError
      probeAt
    }
  }
`);

export function UpstreamHealthCard() {
  const [{ data, error }, refetch] = useQuery({ query: UpstreamHealthQuery });
  const health = data?.upstreamHealth;
  return (
    <section className="card">
      <h2>
        Upstream health{' '}
        <button className="small secondary" onClick={() => refetch({ requestPolicy: 'network-only' })}>
          Refresh
        </button>
      </h2>
      <ErrorBox error={error} />
      {health && (
        <p>
          <span className={`badge state-${health.state}`} data-testid="upstream-state">
            {health.state}
          </span>{' '}
          since {formatTime(health.since)}
          {health.lastError && <span className="muted"> · last error: {health.lastError}</span>}
          {health.probeAt && <span className="muted"> · next probe {formatTime(health.probeAt)}</span>}
        </p>
      )}
    </section>
  );
}
