import { useState } from 'react';
import { Provider, useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox } from '../errors.tsx';
import { clearCredential, loadCredential, saveCredential } from '../session.ts';
import { SignIn } from '../sign-in.tsx';
import { useConsoleClient } from '../use-client.ts';
import { TenantPage } from './tenant-page.tsx';
import { Tenants } from './tenants.tsx';
import { UpstreamHealthCard } from './upstream.tsx';

const WhoAmI = graphql(`
  query ConsoleAdminCheck {
    upstreamHealth {
      state
    }
    tenants(first: 1) {
      edges {
        cursor
      }
    }
  }
`);

/** Refuses a token that is not an admin's before showing anything. */
function Checked(props: { path: string; onSignOut(): void }) {
  const [{ data, error }] = useQuery({ query: WhoAmI });
  if (error) {
    return (
      <div className="card">
        <ErrorBox error={error} testId="sign-in-error" />
        <button onClick={props.onSignOut}>Sign in again</button>
      </div>
    );
  }
  if (!data) return <p className="loading">Checking the token…</p>;
  const tenant = /^\/admin\/tenants\/([^/]+)$/.exec(props.path);
  return (
    <>
      <div className="toolbar">
        <span>Signed in as admin</span>
        <button className="secondary" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
      {tenant ? (
        <TenantPage id={decodeURIComponent(tenant[1]!)} />
      ) : (
        <>
          <UpstreamHealthCard />
          <Tenants />
        </>
      )}
    </>
  );
}

export function AdminArea(props: { path: string }) {
  const [token, setToken] = useState(() => loadCredential('admin'));
  const gateway = useConsoleClient(token);
  if (!token) {
    return (
      <SignIn
        title="Admin sign-in"
        label="Admin token"
        hint="The ADMIN_TOKEN (npm start prints it) or an admin API key. Kept in this tab's session only."
        button="Sign in"
        onSignIn={(value) => {
          saveCredential('admin', value);
          setToken(value);
        }}
      />
    );
  }
  if (!gateway) return null;
  const signOut = () => {
    clearCredential('admin');
    setToken(null);
  };
  return (
    <Provider value={gateway.client}>
      <Checked path={props.path} onSignOut={signOut} />
    </Provider>
  );
}
