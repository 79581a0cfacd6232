import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox, unwrap, type ShownError } from '../errors.tsx';
import { formatTime } from '../format.ts';
import { SecretOnce } from './secret-once.tsx';

const IssueKey = graphql(`
  mutation ConsoleIssueKey($tenantId: ID!, $name: String) {
    issueApiKey(input: { tenantId: $tenantId, name: $name }) {
      __typename
      ... on Error {
        code
        message
      }
      ... on MutationIssueApiKeySuccess {
        data {
          secret
          apiKey {
            id
            prefix
          }
        }
      }
    }
  }
`);

const RevokeKey = graphql(`
  mutation ConsoleRevokeKey($id: ID!) {
    revokeApiKey(input: { id: $id }) {
      __typename
      ... on Error {
        code
        message
      }
      ... on MutationRevokeApiKeySuccess {
        data {
          id
          revokedAt
        }
      }
    }
  }
`);

const RotateKey = graphql(`
  mutation ConsoleRotateKey($keyId: ID!, $grace: Int!) {
    rotateApiKey(input: { keyId: $keyId, gracePeriodSeconds: $grace }) {
      __typename
      ... on Error {
        code
        message
      }
      ... on MutationRotateApiKeySuccess {
        data {
          secret
          oldKeyExpiresAt
          apiKey {
            id
            prefix
          }
        }
      }
    }
  }
`);

interface KeyRow {
  id: string;
  name?: string | null;
  prefix: string;
  createdAt: string;
  lastUsedAt?: string | null;
  revokedAt?: string | null;
  expiresAt?: string | null;
  scopes: readonly string[];
}

function KeyActions(props: { row: KeyRow; onSecret(secret: string, note: string): void; onError(error: ShownError | null): void; onChanged(): void }) {
  const [confirming, setConfirming] = useState(false);
  const [grace, setGrace] = useState(3600);
  const [revokeState, revoke] = useMutation(RevokeKey);
  const [rotateState, rotate] = useMutation(RotateKey);
  if (props.row.revokedAt) return <span className="muted">revoked {formatTime(props.row.revokedAt)}</span>;
  const onRevoke = async () => {
    if (!confirming) return setConfirming(true);
    setConfirming(false);
    const result = await revoke({ id: props.row.id });
    props.onError(result.error ? null : unwrap(result.data?.revokeApiKey).error);
    props.onChanged();
  };
  const onRotate = async () => {
    const result = await rotate({ keyId: props.row.id, grace });
    const { data, error } = unwrap(result.data?.rotateApiKey);
    props.onError(error);
    props.onChanged();
    if (data) props.onSecret(data.secret, `The old key ${props.row.prefix}… works until ${formatTime(data.oldKeyExpiresAt)}.`);
  };
  return (
    <span className="inline">
      <select value={grace} onChange={(e) => setGrace(Number(e.target.value))} aria-label="Grace period">
        <option value={0}>old key stops now</option>
        <option value={3600}>old key works 1 hour</option>
        <option value={86400}>old key works 1 day</option>
      </select>
      <button className="small secondary" onClick={onRotate} disabled={rotateState.fetching}>
        Rotate
      </button>
      <button className="small danger" onClick={onRevoke} disabled={revokeState.fetching}>
        {confirming ? 'Confirm revoke' : 'Revoke'}
      </button>
      <ErrorBox error={revokeState.error ?? rotateState.error} />
    </span>
  );
}

export function Keys(props: { tenantId: string; keys: readonly KeyRow[]; onChanged(): void }) {
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<{ secret: string; note: string } | null>(null);
  const [problem, setProblem] = useState<ShownError | null>(null);
  const [issueState, issue] = useMutation(IssueKey);
  const onIssue = async (event: FormEvent) => {
    event.preventDefault();
    const result = await issue({ tenantId: props.tenantId, name: name.trim() || null });
    const { data, error } = unwrap(result.data?.issueApiKey);
    setProblem(error);
    props.onChanged();
    if (data) {
      setSecret({ secret: data.secret, note: `Key ${data.apiKey.prefix}… has every scope.` });
      setName('');
    }
  };
  return (
    <section className="card">
      <h2>API keys</h2>
      {secret && <SecretOnce secret={secret.secret} note={secret.note} onDismiss={() => setSecret(null)} />}
      <form className="inline" onSubmit={onIssue}>
        <input placeholder="Key name (optional)" value={name} onChange={(e) => setName(e.target.value)} aria-label="Key name" />
        <button type="submit" disabled={issueState.fetching}>
          Issue key
        </button>
      </form>
      <ErrorBox error={issueState.error ?? problem} />
      <table>
        <thead>
          <tr>
            <th>Prefix</th>
            <th>Name</th>
            <th>Scopes</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Expires</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.keys.map((k) => (
            <tr key={k.id} data-testid="key-row">
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.name ?? '—'}</td>
              <td>{k.scopes.join(', ')}</td>
              <td>{formatTime(k.createdAt)}</td>
              <td>{formatTime(k.lastUsedAt)}</td>
              <td>{formatTime(k.expiresAt)}</td>
              <td>
                <KeyActions row={k} onSecret={(s, note) => setSecret({ secret: s, note })} onError={setProblem} onChanged={props.onChanged} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
