import { useEffect, useRef } from 'react';
import type { OperationContext } from 'urql';

/**
 * Reads a query again after each change (`changes` counts them), but never
 * while a read of it is in flight: a second read would cancel the first
 * (an aborted request). Changes that arrive meanwhile are read once it ends.
 */
export function useRefetchOn(changes: number, fetching: boolean, refetch: (opts?: Partial<OperationContext>) => void): void {
  const done = useRef(0);
  useEffect(() => {
    if (changes > done.current && !fetching) {
      done.current = changes;
      refetch({ requestPolicy: 'network-only' });
    }
  }, [changes, fetching, refetch]);
}
