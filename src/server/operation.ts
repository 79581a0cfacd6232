// The operation a request runs, read from its document once: documents come
// from the pipeline's parse cache, so the same DocumentNode returns for the
// same text, and what was read of it is kept beside it (a WeakMap: it goes
// when the cache lets the document go).
import { getOperationAST, Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';

export interface OperationInfo {
  /** query, mutation or subscription. */
  type: OperationDefinitionNode['operation'];
  /** Its first root field, '(fragment)' when it starts with one. */
  field: string;
  /** The operation's own name in the document, if it has one. */
  name: string | undefined;
}

const read = new WeakMap<DocumentNode, Map<string, OperationInfo | null>>();

export function operationOf(document: DocumentNode, operationName: string | null | undefined): OperationInfo | null {
  let byName = read.get(document);
  if (!byName) {
    byName = new Map();
    read.set(document, byName);
  }
  const key = operationName ?? '';
  let info = byName.get(key);
  if (info === undefined) {
    const operation = getOperationAST(document, operationName);
    const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
    info = operation
      ? { type: operation.operation, field: first?.kind === Kind.FIELD ? first.name.value : '(fragment)', name: operation.name?.value }
      : null;
    // A client cannot grow this: operation names not in the document fail validation before execution.
    byName.set(key, info);
  }
  return info;
}
