import { useCallback, useEffect, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox } from '../errors.tsx';
import { formatTime } from '../format.ts';
import { useRefetchOn } from '../refresh.ts';
import { Link } from '../router.tsx';
import { AuditLog } from './audit.tsx';
import { Credits } from './credits.tsx';
import { Keys } from './keys.tsx';
import { Ledger } from './ledger.tsx';
import { TenantStatusActions } from './tenant-status.tsx';
import { UsageChart } from './usage.tsx';

const TenantQuery = graphql(`
  query ConsoleTenant($id: ID!) {
    tenant(id: $id) {
      id
      name
      status
      suspendedReason
      createdAt
      balance {
        available
        held
        low
      }
      apiKeys {
        id
        name
        prefix
        createdAt
        lastUsedAt
        revokedAt
        expiresAt
        scopes
      }
    }
  }
`);

const TenantBalance = graphql(`
  subscription ConsoleTenantBalance($tenantId: ID!) {
    balanceChanged(tenantId: $tenantId) {
      available
      held
      low
    }
  }
`);

export function TenantPage(props: { id: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: TenantQuery, variables: { id: props.id } });
  // Every change to the balance arrives here as it commits (top-ups, holds, charges, refunds).
  const [live] = useSubscription({ query: TenantBalance, variables: { tenantId: props.id } });
  // Bumped on each balance change, so the statement and usage below read again.
  const [changes, setChanges] = useState(0);
  const bump = useCallback(() => setChanges((n) => n + 1), []);
  useEffect(() => {
    if (live.data) bump();
  }, [live.data, bump]);
  // Keys, status and name change by this page's own writes: read the tenant again after each.
  useRefetchOn(changes, fetching, refetch);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <p className="loading">Loading…</p>;
  const tenant = data.tenant;
  if (!tenant) return <ErrorBox error={{ code: 'NOT_FOUND', message: 'No tenant with this id', details: [] }} />;
  const balance = live.data?.balanceChanged ?? tenant.balance;
  return (
    <>
      <p>
        <Link to="/admin">← All tenants</Link>
      </p>
      <section className="card">
        <h2 data-testid="tenant-name">{tenant.name}</h2>
        <p className="muted">
          {tenant.id} · created {formatTime(tenant.createdAt)}
        </p>
        <div className="balance">
          <div>
            <span className="label">Available</span>
            <span className="value" data-testid="tenant-available">
              {balance.available}
            </span>
          </div>
          <div>
            <span className="label">Held</span>
            <span className="value" data-testid="tenant-held">
              {balance.held}
            </span>
          </div>
          {balance.low && <span className="badge low">low balance</span>}
          <span className={`live ${live.error ? 'off' : 'on'}`} title={live.error ? live.error.message : 'Live over graphql-ws'}>
            {live.error ? 'not live' : 'live'}
          </span>
        </div>
        <ErrorBox error={live.error} />
        <TenantStatusActions tenantId={tenant.id} status={tenant.status} suspendedReason={tenant.suspendedReason ?? null} onChanged={bump} />
      </section>
      <Credits tenantId={tenant.id} onChanged={bump} />
      <Keys tenantId={tenant.id} keys={tenant.apiKeys} onChanged={bump} />
      <Ledger tenantId={tenant.id} changes={changes} />
      <UsageChart tenantId={tenant.id} changes={changes} />
      <AuditLog tenantId={tenant.id} changes={changes} />
    </>
  );
}
