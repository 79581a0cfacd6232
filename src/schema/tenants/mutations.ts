import { issueApiKey, keyName, revokeApiKey } from '../../auth/api-keys.ts';
import { NotFoundError } from '../../errors.ts';
import { createTenant, reactivateTenant, suspendTenant, suspensionReason, tenantName } from '../../tenants/service.ts';
import { builder } from '../builder.ts';
import { InputError } from '../errors.ts';
import { ApiKeyRef, IssuedApiKeyRef, TenantRef } from './types.ts';

const CreateTenantInput = builder.inputType('CreateTenantInput', {
  fields: (t) => ({ name: t.string({ required: true, validate: tenantName }) }),
});

builder.mutationField('createTenant', (t) =>
  t.field({
    type: TenantRef,
    authScopes: { admin: true },
    errors: { types: [InputError] },
    args: { input: t.arg({ type: CreateTenantInput, required: true }) },
    resolve: (_root, { input }, ctx) => createTenant(ctx.db, { name: input.name }, ctx.actor()),
  }),
);

const IssueApiKeyInput = builder.inputType('IssueApiKeyInput', {
  fields: (t) => ({
    tenantId: t.globalID({ required: true, for: TenantRef }),
    name: t.string({ validate: keyName.nullish() }),
  }),
});

builder.mutationField('issueApiKey', (t) =>
  t.field({
    type: IssuedApiKeyRef,
    description: 'Issues a tenant API key. The secret is returned once and never stored.',
    authScopes: { admin: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: IssueApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => issueApiKey(ctx.db, { tenantId: input.tenantId.id, name: input.name ?? null }, ctx.actor()),
  }),
);

const IssueAdminApiKeyInput = builder.inputType('IssueAdminApiKeyInput', {
  fields: (t) => ({ name: t.string({ validate: keyName.nullish() }) }),
});

builder.mutationField('issueAdminApiKey', (t) =>
  t.field({
    type: IssuedApiKeyRef,
    description: 'Issues an admin API key, an alternative to the ADMIN_TOKEN that can be revoked.',
    authScopes: { admin: true },
    errors: { types: [InputError] },
    args: { input: t.arg({ type: IssueAdminApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => issueApiKey(ctx.db, { tenantId: null, name: input.name ?? null }, ctx.actor()),
  }),
);

const RevokeApiKeyInput = builder.inputType('RevokeApiKeyInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: ApiKeyRef }) }),
});

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: ApiKeyRef,
    description: 'Revokes a key. It stops working at once on every gateway process.',
    authScopes: { admin: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: RevokeApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => revokeApiKey(ctx, input.id.id, ctx.actor()),
  }),
);

const SuspendTenantInput = builder.inputType('SuspendTenantInput', {
  fields: (t) => ({
    tenantId: t.globalID({ required: true, for: TenantRef }),
    reason: t.string({ required: true, validate: suspensionReason }),
  }),
});

builder.mutationField('suspendTenant', (t) =>
  t.field({
    type: TenantRef,
    description:
      "Stops a tenant's new generations (TENANT_SUSPENDED, nothing held). Its reads, live status and tasks in flight go on. " +
      'Suspending again replaces the reason.',
    authScopes: { admin: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: SuspendTenantInput, required: true }) },
    resolve: (_root, { input }, ctx) => suspendTenant(ctx.db, { tenantId: input.tenantId.id, reason: input.reason }, ctx.actor()),
  }),
);

const ReactivateTenantInput = builder.inputType('ReactivateTenantInput', {
  fields: (t) => ({ tenantId: t.globalID({ required: true, for: TenantRef }) }),
});

builder.mutationField('reactivateTenant', (t) =>
  t.field({
    type: TenantRef,
    description: 'Lets a suspended tenant generate again; an active tenant is returned unchanged.',
    authScopes: { admin: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: ReactivateTenantInput, required: true }) },
    resolve: (_root, { input }, ctx) => reactivateTenant(ctx.db, { tenantId: input.tenantId.id }, ctx.actor()),
  }),
);
