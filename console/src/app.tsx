import { AdminArea } from './admin/admin-area.tsx';
import { Playground } from './playground/playground.tsx';
import { Link, usePath } from './router.tsx';

function Home() {
  return (
    <div className="home">
      <Link to="/admin" className="card choice">
        <h2>Admin</h2>
        <p>Tenants, balances, keys, credits, the ledger, usage and margin, the audit log, upstream health.</p>
      </Link>
      <Link to="/playground" className="card choice">
        <h2>Playground</h2>
        <p>Generate with a tenant key: quote, submit, watch the task and the balance live.</p>
      </Link>
    </div>
  );
}

export function App() {
  const path = usePath();
  const area = path.startsWith('/admin') ? 'admin' : path.startsWith('/playground') ? 'playground' : 'home';
  return (
    <>
      <header className="top">
        <Link to="/" className="brand">
          Grok Imagine gateway
        </Link>
        <nav>
          <Link to="/admin" className={area === 'admin' ? 'active' : ''}>
            Admin
          </Link>
          <Link to="/playground" className={area === 'playground' ? 'active' : ''}>
            Playground
          </Link>
        </nav>
      </header>
      <main>
        {area === 'admin' && <AdminArea path={path} />}
        {area === 'playground' && <Playground />}
        {area === 'home' && <Home />}
      </main>
    </>
  );
}
