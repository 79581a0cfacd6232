import { useState } from 'react';

/**
 * A key's secret, shown once: it lives in this component's state only (no
 * storage of any kind) and is gone when dismissed or the page is left.
 */
export function SecretOnce(props: { secret: string; note?: string; onDismiss(): void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div className="secret" role="status">
      <p>
        <strong>Store this key now: it is shown only once.</strong> {props.note}
      </p>
      <code data-testid="new-secret">{props.secret}</code>
      <div className="inline">
        <button type="button" onClick={copy}>
          Copy
        </button>
        {copied === 'yes' && <span className="muted">Copied.</span>}
        {copied === 'failed' && <span className="muted">The browser refused the clipboard: select the key and copy it.</span>}
        <button type="button" className="secondary" onClick={props.onDismiss}>
          I have stored it
        </button>
      </div>
    </div>
  );
}
