// GraphQL operations into the metrics (src/metrics/), in the one pipeline
// that HTTP, SSE and WebSocket share: queries and mutations when executed,
// subscriptions when started (their events run through `execute` too, and
// are not operations of their own). Labels: the operation's type and its
// first root field, a name the schema validated, never the client's
// operation name, which could be anything.
import { getOperationAST, Kind, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayMetrics } from '../metrics/registry.ts';

function describe(document: DocumentNode, operationName: string | null | undefined): { type: string; field: string } | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const first = operation.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  return { type: operation.operation, field: first?.kind === Kind.FIELD ? first.name.value : '(fragment)' };
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
        onSubscribeError() {
          stop();
          metrics.operations.inc({ ...op, outcome: 'error' });
        },
      };
    },
  };
}
