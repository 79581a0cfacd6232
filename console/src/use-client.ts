import { useEffect, useState } from 'react';
import { createConsoleClient, type ConsoleClient } from './client.ts';

/** A client for this credential, closed (its WebSocket too) when the credential changes or the page leaves. */
export function useConsoleClient(credential: string | null): ConsoleClient | null {
  const [client, setClient] = useState<ConsoleClient | null>(null);
  useEffect(() => {
    if (!credential) {
      setClient(null);
      return;
    }
    const created = createConsoleClient(credential);
    setClient(created);
    return () => created.dispose();
  }, [credential]);
  return client;
}
