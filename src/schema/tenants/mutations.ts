import { issueApiKey, revokeApiKey } from '../../auth/api-keys.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import { createTenant } from '../../tenants/service.ts';
import { builder } from '../builder.ts';
import { decodeId } from '../ids.ts';
import { ApiKeyRef, IssuedApiKeyRef, TenantRef } from './types.ts';

const CreateTenantInput = builder.inputType('CreateTenantInput', {
  fields: (t) => ({ name: t.string({ required: true }) }),
});

builder.mutationField('createTenant', (t) =>
  t.field({
    type: TenantRef,
    authScopes: { admin: true },
    errors: { types: [ValidationError] },
    args: { input: t.arg({ type: CreateTenantInput, required: true }) },
    resolve: (_root, { input }, ctx) => createTenant(ctx.db, { name: input.name }),
  }),
);

const IssueApiKeyInput = builder.inputType('IssueApiKeyInput', {
  fields: (t) => ({
    tenantId: t.id({ required: true }),
    name: t.string(),
  }),
});

builder.mutationField('issueApiKey', (t) =>
  t.field({
    type: IssuedApiKeyRef,
    description: 'Issues a tenant API key. The secret is returned once and never stored.',
    authScopes: { admin: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: { input: t.arg({ type: IssueApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      issueApiKey(ctx.db, { tenantId: decodeId('Tenant', String(input.tenantId)), name: input.name ?? null }),
  }),
);

const IssueAdminApiKeyInput = builder.inputType('IssueAdminApiKeyInput', {
  fields: (t) => ({ name: t.string() }),
});

builder.mutationField('issueAdminApiKey', (t) =>
  t.field({
    type: IssuedApiKeyRef,
    description: 'Issues an admin API key, an alternative to the ADMIN_TOKEN that can be revoked.',
    authScopes: { admin: true },
    errors: { types: [ValidationError] },
    args: { input: t.arg({ type: IssueAdminApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => issueApiKey(ctx.db, { tenantId: null, name: input.name ?? null }),
  }),
);

const RevokeApiKeyInput = builder.inputType('RevokeApiKeyInput', {
  fields: (t) => ({ id: t.id({ required: true }) }),
});

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: ApiKeyRef,
    description: 'Revokes a key. It stops working at once on this process, within AUTH_CACHE_TTL_MS on others.',
    authScopes: { admin: true },
    errors: { types: [NotFoundError] },
    args: { input: t.arg({ type: RevokeApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const key = await revokeApiKey(ctx.db, decodeId('ApiKey', String(input.id)));
      // At once on this process; through the bus (Redis) on the others.
      ctx.authenticator.forget(key.id);
      ctx.bus.keyRevoked(key.id);
      return key;
    },
  }),
);
