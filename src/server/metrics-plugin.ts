// GraphQL operations into the metrics (src/metrics/), in the one pipeline
// that HTTP, SSE and WebSocket share: queries and mutations when executed,
// subscriptions when started (their events run through `execute` too, and
// are not operations of their own), once: a stream that fails later is not
// counted again. (An onSubscribeError hook would also make envelop wrap every
// subscription's results for its whole life, ~3 KiB per subscription.) Labels: the operation's type and its
// first root field, a name the schema validated, never the client's
// operation name, which could be anything.
import type { DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayMetrics } from '../metrics/registry.ts';
import { operationOf } from './operation.ts';

/** The operation's labels: kept with its document, so each request's labels are one object made once. */
const labels = new WeakMap<object, { type: string; field: string }>();
function describe(document: DocumentNode, operationName: string | null | undefined): { type: string; field: string } | null {
  const op = operationOf(document, operationName);
  if (!op) return null;
  let label = labels.get(op);
  if (!label) {
    label = { type: op.type, field: op.field };
    labels.set(op, label);
  }
  return label;
}

export function useOperationMetrics(metrics: GatewayMetrics): Plugin {
  return {
    onExecute({ args }) {
      const op = describe(args.document, args.operationName);
      if (!op || op.type === 'subscription') return;
      const stop = metrics.operationSeconds.startTimer(op);
      return {
        onExecuteDone({ result }) {
          stop();
          const failed = !Array.isArray(result) && 'errors' in result && (result.errors?.length ?? 0) > 0;
          metrics.operations.inc({ ...op, outcome: failed ? 'error' : 'ok' });
        },
      };
    },
    onSubscribe({ args }) {
      const op = describe(args.document, args.operationName);
      if (!op) return;
      const stop = metrics.operationSeconds.startTimer(op);
      return {
        onSubscribeResult({ result }) {
          stop();
          const failed = 'errors' in result && (result.errors?.length ?? 0) > 0;
          metrics.operations.inc({ ...op, outcome: failed ? 'error' : 'ok' });
        },
      };
    },
  };
}
