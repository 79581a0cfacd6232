import { useCallback, useState } from 'react';
import { Provider, useQuery, useSubscription } from 'urql';
import { ErrorBox } from '../errors.tsx';
import { useRefetchOn } from '../refresh.ts';
import type { ConsoleTaskFragment } from '../gql/graphql.ts';
import { clearCredential, loadCredential, saveCredential } from '../session.ts';
import { SignIn } from '../sign-in.tsx';
import { useConsoleClient } from '../use-client.ts';
import { GenerateForm } from './generate-form.tsx';
import { MeQuery, MyBalance, RecentTasks } from './operations.ts';
import { TaskCard } from './task-card.tsx';

function Workbench(props: { onSignOut(): void }) {
  const [me] = useQuery({ query: MeQuery });
  // The balance as each change commits: the hold at submission, the charge, a refund.
  const [live] = useSubscription({ query: MyBalance });
  const [recent, refetchRecent] = useQuery({ query: RecentTasks });
  const [submitted, setSubmitted] = useState<ConsoleTaskFragment[]>([]);
  // Each task that ends becomes an earlier result to start from: read the list again.
  const [ended, setEnded] = useState(0);
  const onEnded = useCallback(() => setEnded((n) => n + 1), []);
  useRefetchOn(ended, recent.fetching, refetchRecent);
  if (me.error) {
    return (
      <div className="card">
        <ErrorBox error={me.error} testId="sign-in-error" />
        <button onClick={props.onSignOut}>Use another key</button>
      </div>
    );
  }
  if (!me.data) return <p className="loading">Checking the key…</p>;
  const balance = live.data?.balanceChanged ?? me.data.me.balance;
  const earlier = (recent.data?.tasks.edges ?? []).map((e) => e.node);
  return (
    <>
      <div className="toolbar">
        <span>
          Tenant <strong data-testid="playground-tenant">{me.data.me.name}</strong>
        </span>
        <span className="balance">
          <span className="label">Available</span>
          <span className="value" data-testid="balance-available">
            {balance.available}
          </span>
          <span className="label">Held</span>
          <span className="value" data-testid="balance-held">
            {balance.held}
          </span>
          <span className={`live ${live.error ? 'off' : 'on'}`}>{live.error ? 'not live' : 'live'}</span>
        </span>
        <button className="secondary" onClick={props.onSignOut}>
          Forget key
        </button>
      </div>
      <ErrorBox error={live.error} />
      <GenerateForm available={balance.available} earlier={earlier} onSubmitted={(task) => setSubmitted((list) => [task, ...list])} />
      {submitted.map((task) => (
        <TaskCard key={task.id} task={task} onEnded={onEnded} />
      ))}
    </>
  );
}

export function Playground() {
  const [key, setKey] = useState(() => loadCredential('tenant'));
  const gateway = useConsoleClient(key);
  if (!key) {
    return (
      <SignIn
        title="Playground"
        label="Tenant API key"
        hint="A key with the GENERATE and READ scopes (npm start prints a demo key). Kept in this tab's session only."
        button="Use key"
        onSignIn={(value) => {
          saveCredential('tenant', value);
          setKey(value);
        }}
      />
    );
  }
  if (!gateway) return null;
  return (
    <Provider value={gateway.client}>
      <Workbench
        onSignOut={() => {
          clearCredential('tenant');
          setKey(null);
        }}
      />
    </Provider>
  );
}
