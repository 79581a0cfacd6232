import { useMemo } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox } from '../errors.tsx';
import { modelLabel } from '../format.ts';
import { useRefetchOn } from '../refresh.ts';
import { BarChart, MODEL_COLORS, type DayBar } from './bar-chart.tsx';

const UsageQuery = graphql(`
  query ConsoleUsage($input: UsageReportInput!) {
    usageReport(input: $input) {
      day
      model
      tasks
      succeeded
      failed
      creditsCharged
      creditsRefunded
      admin {
        upstreamCredits
        margin
      }
    }
  }
`);

const DAYS = 14;
const DAY_MS = 86_400_000;

/** The last DAYS UTC days, today included: [from, to) on day boundaries. */
function usageWindow(now: number): { from: string; to: string; days: string[] } {
  const tomorrow = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  const from = tomorrow - DAYS * DAY_MS;
  const days = Array.from({ length: DAYS }, (_, i) => new Date(from + i * DAY_MS).toISOString().slice(0, 10));
  return { from: new Date(from).toISOString(), to: new Date(tomorrow).toISOString(), days };
}

export function UsageChart(props: { tenantId: string; changes: number }) {
  const range = useMemo(() => usageWindow(Date.now()), []);
  const [{ data, error, fetching }, refetch] = useQuery({
    query: UsageQuery,
    variables: { input: { from: range.from, to: range.to, tenantId: props.tenantId } },
  });
  useRefetchOn(props.changes, fetching, refetch);
  const rows = data?.usageReport ?? [];
  const bars: DayBar[] = range.days.map((day) => {
    const ofDay = rows.filter((r) => r.day === day);
    const margins = ofDay.map((r) => r.admin?.margin).filter((m): m is number => typeof m === 'number');
    return {
      day,
      segments: ofDay.map((r) => ({ key: r.model, value: r.creditsCharged - r.creditsRefunded })),
      marker: margins.length > 0 ? margins.reduce((a, b) => a + b, 0) : null,
    };
  });
  const models = [...new Set(rows.map((r) => r.model))];
  return (
    <section className="card">
      <h2>Usage and margin, last {DAYS} days (UTC)</h2>
      <ErrorBox error={error} />
      <BarChart bars={bars} label="Credits charged less refunds per day and model; the dark mark is the day's margin" />
      <div className="legend">
        {models.map((m) => (
          <span key={m}>
            <i style={{ background: MODEL_COLORS[m] ?? '#6b7280' }} /> {modelLabel(m)}
          </span>
        ))}
        <span>
          <i className="marker-key" /> margin
        </span>
      </div>
      <table>
        <thead>
          <tr>
            <th>Day</th>
            <th>Model</th>
            <th className="num">Tasks</th>
            <th className="num">Succeeded</th>
            <th className="num">Failed</th>
            <th className="num">Charged</th>
            <th className="num">Refunded</th>
            <th className="num">Upstream</th>
            <th className="num">Margin</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.day}-${r.model}`} data-testid="usage-row">
              <td>{r.day}</td>
              <td>{modelLabel(r.model)}</td>
              <td className="num">{r.tasks}</td>
              <td className="num">{r.succeeded}</td>
              <td className="num">{r.failed}</td>
              <td className="num">{r.creditsCharged}</td>
              <td className="num">{r.creditsRefunded}</td>
              <td className="num">{r.admin?.upstreamCredits ?? '—'}</td>
              <td className="num">{r.admin?.margin ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
