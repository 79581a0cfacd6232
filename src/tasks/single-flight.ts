/**
 * Requests of one tenant with one idempotency key, in this process, one at a
 * time: the first goes ahead, the others wait for it to finish and then find
 * its task (a replay, which takes no rate-limit token). Without it, a burst
 * of identical retries would each take a token before learning that they are
 * replays. Across processes the statement's ON CONFLICT decides, and a
 * duplicate's token is given back.
 */
export function createSingleFlight() {
  const running = new Map<string, Promise<unknown>>();
  return {
    async run<T>(key: string, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
      const ahead = running.get(key);
      if (ahead) {
        await ahead.catch(() => {});
        return { ran: false };
      }
      const promise = work();
      running.set(key, promise);
      try {
        return { ran: true, value: await promise };
      } finally {
        running.delete(key);
      }
    },
  };
}

export type SingleFlight = ReturnType<typeof createSingleFlight>;
