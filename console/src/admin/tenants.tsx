import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox, unwrap, type ShownError } from '../errors.tsx';
import { formatTime } from '../format.ts';
import { Link, navigate } from '../router.tsx';

const TenantsQuery = graphql(`
  query ConsoleTenants($after: String, $search: String, $status: TenantStatus) {
    tenants(first: 25, after: $after, search: $search, status: $status) {
      edges {
        node {
          id
          name
          status
          createdAt
          balance {
            available
            held
            low
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

const CreateTenant = graphql(`
  mutation ConsoleCreateTenant($name: String!) {
    createTenant(input: { name: $name }) {
      __typename
      ... on Error {
        code
        message
      }
      ... on MutationCreateTenantSuccess {
        data {
          id
        }
      }
    }
  }
`);

interface Filter {
  text: string;
  status: '' | 'ACTIVE' | 'SUSPENDED';
}

/** One page of tenants, newest first, narrowed by the server (`tenants(search:, status:)`); the last page offers the next. */
function TenantRows(props: { after: string | null; last: boolean; filter: Filter; onMore(cursor: string): void }) {
  const search = props.filter.text.trim();
  const variables = { after: props.after, search: search === '' ? null : search, status: props.filter.status === '' ? null : props.filter.status };
  const [{ data, error, fetching }] = useQuery({ query: TenantsQuery, variables });
  if (error) return <ErrorBox error={error} />;
  if (!data) return fetching ? <p className="loading">Loading…</p> : null;
  const rows = data.tenants.edges.map((e) => e.node);
  const { pageInfo } = data.tenants;
  return (
    <>
      {rows.map((t) => (
        <tr key={t.id} data-testid="tenant-row">
          <td>
            <Link to={`/admin/tenants/${encodeURIComponent(t.id)}`}>{t.name}</Link>
          </td>
          <td>
            <span className={`badge status-${t.status}`}>{t.status}</span>
          </td>
          <td className="num">{t.balance.available}</td>
          <td className="num">{t.balance.held}</td>
          <td>{formatTime(t.createdAt)}</td>
        </tr>
      ))}
      {props.last && pageInfo.hasNextPage && pageInfo.endCursor && (
        <tr>
          <td colSpan={5}>
            <button className="secondary" onClick={() => props.onMore(pageInfo.endCursor!)}>
              Load more
            </button>
          </td>
        </tr>
      )}
    </>
  );
}

function NewTenant() {
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<ShownError | null>(null);
  const [state, create] = useMutation(CreateTenant);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create({ name: name.trim() });
    const { data, error } = unwrap(result.data?.createTenant);
    setProblem(error);
    if (data) navigate(`/admin/tenants/${encodeURIComponent(data.id)}`);
  };
  return (
    <form className="inline" onSubmit={submit}>
      <label>
        New tenant
        <input placeholder="Name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <button type="submit" disabled={state.fetching || name.trim() === ''}>
        Create tenant
      </button>
      <ErrorBox error={state.error ?? problem} />
    </form>
  );
}

export function Tenants() {
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [filter, setFilter] = useState<Filter>({ text: '', status: '' });
  return (
    <section className="card">
      <h2>Tenants</h2>
      <NewTenant />
      <div className="inline">
        <label>
          Search
          <input
            placeholder="Name or id"
            value={filter.text}
            onChange={(e) => {
              setFilter({ ...filter, text: e.target.value });
              setPages([null]);
            }}
          />
        </label>
        <label>
          Status
          <select
            value={filter.status}
            onChange={(e) => {
              setFilter({ ...filter, status: e.target.value as Filter['status'] });
              setPages([null]);
            }}
          >
            <option value="">any</option>
            <option value="ACTIVE">ACTIVE</option>
            <option value="SUSPENDED">SUSPENDED</option>
          </select>
        </label>
      </div>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th className="num">Available</th>
            <th className="num">Held</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {pages.map((after, i) => (
            <TenantRows key={`${filter.text}|${filter.status}|${after ?? 'first'}`} after={after} last={i === pages.length - 1} filter={filter} onMore={(cursor) => setPages([...pages, cursor])} />
          ))}
        </tbody>
      </table>
    </section>
  );
}
