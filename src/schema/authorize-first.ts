// Who may call a field is decided before what they sent is read. Pothos runs
// every argument mapper (the storable-text rule, id decoding, the zod
// rules) before any plugin's resolver wrapper, so scope-auth alone would
// answer a caller without the right key with a `ValidationError` about its
// input (and, for ids, about which type an id names) instead of
// UNAUTHENTICATED or FORBIDDEN. This plugin checks a root field's literal
// `authScopes` (`{ admin: true }`, `{ tenant: true }`: any of them) outside
// the argument mappers, with the builder's own scopes and error, and leaves
// everything else to scope-auth, which still checks every field as before.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';

const ROOTS = new Set(['Query', 'Mutation', 'Subscription']);

/** The scopes a field names as `{ scope: true }`, or null when they are anything else (a function, a nested rule). */
function literalScopes(option: unknown): string[] | null {
  if (!option || typeof option !== 'object' || Array.isArray(option)) return null;
  const entries = Object.entries(option);
  if (entries.length === 0 || entries.some(([, value]) => value !== true)) return null;
  return entries.map(([scope]) => scope);
}

export class AuthorizeFirstPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapArgMappers(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (!ROOTS.has(fieldConfig.parentType) || fieldConfig.argMappers.length === 0) return resolver;
    const scopes = literalScopes((fieldConfig.pothosOptions as { authScopes?: unknown }).authScopes);
    const options = this.builder.options.scopeAuth;
    if (!scopes || !options) return resolver;
    return async (parent, args, context, info) => {
      const granted = (await options.authScopes(context)) as Record<string, unknown>;
      if (!scopes.some((scope) => granted[scope] === true)) {
        const error = options.unauthorizedError?.(parent as object, context, info, { message: 'Not authorized', failure: { kind: 'AnyAuthScopes' } } as never);
        throw error instanceof Error ? error : new Error(typeof error === 'string' ? error : 'Not authorized');
      }
      return resolver(parent, args, context, info);
    };
  }
}

const pluginName = 'authorizeFirst';

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      authorizeFirst: AuthorizeFirstPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, AuthorizeFirstPlugin);

export default pluginName;
