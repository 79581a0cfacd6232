import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorBox, unwrap, type ShownError } from '../errors.tsx';
import { newIdempotencyKey } from '../session.ts';

const TopUp = graphql(`
  mutation ConsoleTopUp($input: TopUpCreditsInput!) {
    topUpCredits(input: $input) {
      __typename
      ... on Error {
        code
        message
      }
      ... on MutationTopUpCreditsSuccess {
        data {
          id
          amount
          balanceAfter
        }
      }
    }
  }
`);

const Adjust = graphql(`
  mutation ConsoleAdjust($input: AdjustCreditsInput!) {
    adjustCredits(input: $input) {
      __typename
      ... on Error {
        code
        message
      }
      ... on InsufficientCreditsError {
        required
        available
      }
      ... on MutationAdjustCreditsSuccess {
        data {
          id
          amount
          balanceAfter
        }
      }
    }
  }
`);

/**
 * One idempotency key per intended write: a retry of the same form (after a
 * lost answer) reuses it, so the ledger takes it once; a success starts a new one.
 */
/** A whole number of credits, or the error the form shows (the gateway would refuse it anyway, less clearly). */
function parseCredits(text: string): number | ShownError {
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : { code: 'VALIDATION', message: 'amount: a whole number of credits', details: [] };
}

function useIdempotencyKey(): [string, () => void] {
  const [key, setKey] = useState(newIdempotencyKey);
  return [key, () => setKey(newIdempotencyKey())];
}

function TopUpForm(props: { tenantId: string; onChanged(): void }) {
  const [amount, setAmount] = useState('');
  const [note, setNote] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const [problem, setProblem] = useState<ShownError | null>(null);
  const [key, nextKey] = useIdempotencyKey();
  const [state, topUp] = useMutation(TopUp);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const credits = parseCredits(amount);
    if (typeof credits !== 'number') return setProblem(credits);
    const result = await topUp({
      input: { tenantId: props.tenantId, amount: credits, idempotencyKey: key, ...(note.trim() ? { note: note.trim() } : {}) },
    });
    const { data, error } = unwrap(result.data?.topUpCredits);
    setProblem(error);
    setDone(data ? `Topped up ${data.amount}: balance ${data.balanceAfter}.` : null);
    if (data) {
      props.onChanged();
      nextKey();
      setAmount('');
      setNote('');
    }
  };
  return (
    <form className="inline" onSubmit={submit}>
      <label>
        Top up
        <input inputMode="numeric" placeholder="Credits" value={amount} onChange={(e) => setAmount(e.target.value)} aria-label="Top-up amount" />
      </label>
      <input placeholder="Note (optional)" value={note} onChange={(e) => setNote(e.target.value)} aria-label="Top-up note" />
      <button type="submit" disabled={state.fetching || amount.trim() === ''}>
        Top up
      </button>
      {done && <span className="ok">{done}</span>}
      <ErrorBox error={state.error ?? problem} />
    </form>
  );
}

function AdjustForm(props: { tenantId: string; onChanged(): void }) {
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const [problem, setProblem] = useState<ShownError | null>(null);
  const [key, nextKey] = useIdempotencyKey();
  const [state, adjust] = useMutation(Adjust);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const credits = parseCredits(amount);
    if (typeof credits !== 'number') return setProblem(credits);
    const result = await adjust({ input: { tenantId: props.tenantId, amount: credits, reason: reason.trim(), idempotencyKey: key } });
    const { data, error } = unwrap(result.data?.adjustCredits);
    setProblem(error);
    setDone(data ? `Adjusted by ${data.amount}: balance ${data.balanceAfter}.` : null);
    if (data) {
      props.onChanged();
      nextKey();
      setAmount('');
      setReason('');
    }
  };
  return (
    <form className="inline" onSubmit={submit}>
      <label>
        Adjust
        <input placeholder="+/- credits" value={amount} onChange={(e) => setAmount(e.target.value)} aria-label="Adjustment amount" />
      </label>
      <input placeholder="Reason (required)" value={reason} onChange={(e) => setReason(e.target.value)} aria-label="Adjustment reason" />
      <button type="submit" disabled={state.fetching || amount.trim() === '' || reason.trim() === ''}>
        Adjust
      </button>
      {done && <span className="ok">{done}</span>}
      <ErrorBox error={state.error ?? problem} />
    </form>
  );
}

export function Credits(props: { tenantId: string; onChanged(): void }) {
  return (
    <section className="card">
      <h2>Credits</h2>
      <TopUpForm tenantId={props.tenantId} onChanged={props.onChanged} />
      <AdjustForm tenantId={props.tenantId} onChanged={props.onChanged} />
    </section>
  );
}
