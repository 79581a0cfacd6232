import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { maskError } from 'graphql-yoga';
import type { Config } from '../config.ts';

// WebSocket operations run on graphql-js directly rather than through Yoga's
// envelop: a subscription lives as long as its socket, and the per-operation
// envelop state and per-operation context cost ~6 KiB per subscription
// (README, "bench:subscriptions"). The same limits and masking apply here.

const MAX_CACHED_DOCUMENTS = 1000;

/** Parses and validates operations with the HTTP path's limits, caching valid documents. */
export function createOperationParser(schema: GraphQLSchema, limits: Config['graphql']) {
  const rules: ValidationRule[] = [
    ...specifiedRules,
    maxDepthRule({ n: limits.maxDepth }),
    maxAliasesRule({ n: limits.maxAliases }),
    costLimitRule({ maxCost: limits.maxCost }),
    maxDirectivesRule({ n: 50 }),
  ];
  const cache = new Map<string, DocumentNode>();
  return (query: string): DocumentNode | readonly GraphQLError[] => {
    const cached = cache.get(query);
    if (cached) return cached;
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: limits.maxTokens });
    } catch (error) {
      return [error instanceof GraphQLError ? error : new GraphQLError('Syntax error')];
    }
    let errors: readonly GraphQLError[];
    try {
      errors = validate(schema, document, rules);
    } catch (error) {
      // graphql-armor's rules throw their rejection rather than report it.
      if (error instanceof GraphQLError) return [error];
      throw error;
    }
    if (errors.length > 0) return errors;
    if (cache.size >= MAX_CACHED_DOCUMENTS) cache.delete(cache.keys().next().value as string);
    cache.set(query, document);
    return document;
  };
}

/** Unexpected errors become "Unexpected error." (details only outside production), as on HTTP. */
export function maskResult(result: ExecutionResult, production: boolean): ExecutionResult {
  if (!result.errors?.length) return result;
  return { ...result, errors: maskErrors(result.errors, production) };
}

export function maskErrors(errors: readonly GraphQLError[], production: boolean): GraphQLError[] {
  return errors.map((error) => maskError(error, 'Unexpected error.', !production) as GraphQLError);
}
