// A router of a few lines: the console has four kinds of page, all under
// /console/ (the gateway answers index.html for every one of them).
import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';

export const BASE = '/console';

function currentPath(): string {
  const path = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : '/';
  return path === '' ? '/' : path;
}

const listeners = new Set<() => void>();

export function navigate(to: string): void {
  window.history.pushState(null, '', `${BASE}${to}`);
  for (const listener of listeners) listener();
}

/** The path inside the console, e.g. `/admin/tenants/abc`. */
export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

export function Link(props: { to: string; children: ReactNode; className?: string }) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(props.to);
  };
  return (
    <a href={`${BASE}${props.to}`} className={props.className} onClick={onClick}>
      {props.children}
    </a>
  );
}
