import { useState, type FormEvent } from 'react';

/** Asks for a credential; it goes to sessionStorage only (session.ts). */
export function SignIn(props: { title: string; label: string; hint: string; button: string; onSignIn(value: string): void }) {
  const [value, setValue] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim() !== '') props.onSignIn(value.trim());
  };
  return (
    <form className="card sign-in" onSubmit={submit}>
      <h2>{props.title}</h2>
      <label>
        {props.label}
        <input type="password" autoComplete="off" spellCheck={false} value={value} onChange={(e) => setValue(e.target.value)} />
      </label>
      <p className="hint">{props.hint}</p>
      <button type="submit" disabled={value.trim() === ''}>
        {props.button}
      </button>
    </form>
  );
}
