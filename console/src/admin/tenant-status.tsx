import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox, unwrap, type ShownError } from '../errors.tsx';

const Suspend = graphql(`
  mutation ConsoleSuspendTenant($tenantId: ID!, $reason: String!) {
    suspendTenant(input: { tenantId: $tenantId, reason: $reason }) {
      __typename
      ... on Error {
        code
        message
      }
      ... on MutationSuspendTenantSuccess {
        data {
          id
          status
          suspendedReason
        }
      }
    }
  }
`);

const Reactivate = graphql(`
  mutation ConsoleReactivateTenant($tenantId: ID!) {
    reactivateTenant(input: { tenantId: $tenantId }) {
      __typename
      ... on Error {
        code
        message
      }
      ... on MutationReactivateTenantSuccess {
        data {
          id
          status
          suspendedReason
        }
      }
    }
  }
`);

export function TenantStatusActions(props: { tenantId: string; status: string; suspendedReason: string | null; onChanged(): void }) {
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<ShownError | null>(null);
  const [suspendState, suspend] = useMutation(Suspend);
  const [reactivateState, reactivate] = useMutation(Reactivate);
  const onSuspend = async (event: FormEvent) => {
    event.preventDefault();
    const result = await suspend({ tenantId: props.tenantId, reason: reason.trim() });
    setProblem(unwrap(result.data?.suspendTenant).error);
    props.onChanged();
  };
  const onReactivate = async () => {
    const result = await reactivate({ tenantId: props.tenantId });
    setProblem(unwrap(result.data?.reactivateTenant).error);
    props.onChanged();
  };
  return (
    <div>
      <p>
        Status: <span className={`badge status-${props.status}`}>{props.status}</span>
        {props.suspendedReason && <span className="muted"> ({props.suspendedReason})</span>}
      </p>
      {props.status === 'SUSPENDED' ? (
        <button className="secondary" onClick={onReactivate} disabled={reactivateState.fetching}>
          Reactivate
        </button>
      ) : (
        <form className="inline" onSubmit={onSuspend}>
          <input placeholder="Reason to suspend" value={reason} onChange={(e) => setReason(e.target.value)} />
          <button type="submit" className="danger" disabled={suspendState.fetching || reason.trim() === ''}>
            Suspend
          </button>
        </form>
      )}
      <ErrorBox error={suspendState.error ?? reactivateState.error ?? problem} />
    </div>
  );
}
