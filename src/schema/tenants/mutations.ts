import { creditLimitCredits, gracePeriodSeconds, issueApiKey, keyName, revokeApiKey, rotateApiKey } from '../../auth/api-keys.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import { createTenant, reactivateTenant, suspendTenant, suspensionReason, tenantName } from '../../tenants/service.ts';
import { builder } from '../builder.ts';
import { InputError } from '../errors.ts';
import { assertGrantable, assertKeyOfCaller, creditLimitToGrant, tenantOfCaller } from './access.ts';
import { ApiKeyRef, ApiKeyScopeEnum, CreditLimitPeriodEnum, IssuedApiKeyRef, RotatedApiKeyRef, TenantRef } from './types.ts';

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
    expiresAt: t.field({ type: 'DateTime', description: 'From then on the key is refused like a revoked one; omit for never' }),
    scopes: t.field({
      type: [ApiKeyScopeEnum],
      description: 'What the key may do; default all. A tenant key grants only scopes it has',
    }),
    creditLimit: t.int({
      description:
        'At most this many credits per creditLimitPeriod through this key and its rotations (KEY_LIMIT_EXCEEDED past it); omit for none. ' +
        'A key with a limit issues keys under its own limit',
      validate: creditLimitCredits.nullish(),
    }),
    creditLimitPeriod: t.field({ type: CreditLimitPeriodEnum, description: 'Required with creditLimit: DAY or MONTH, in UTC' }),
  }),
});

builder.mutationField('issueApiKey', (t) =>
  t.field({
    type: IssuedApiKeyRef,
    description:
      "Issues a tenant API key. The secret is returned once and never stored. Admins for any tenant; a tenant key with MANAGE_KEYS for its own tenant.",
    authScopes: { admin: true, manageKeys: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: IssueApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const tenantId = tenantOfCaller(ctx, input.tenantId.id);
      assertGrantable(ctx, input.scopes);
      if ((input.creditLimit == null) !== (input.creditLimitPeriod == null)) {
        throw new ValidationError('creditLimit: give creditLimit and creditLimitPeriod together, or neither', 'creditLimit');
      }
      const asked = input.creditLimit != null && input.creditLimitPeriod ? { credits: input.creditLimit, period: input.creditLimitPeriod } : null;
      const limit = await creditLimitToGrant(ctx, asked);
      return issueApiKey(
        ctx.db,
        { tenantId, name: input.name ?? null, expiresAt: input.expiresAt ?? null, scopes: input.scopes ?? null, ...limit },
        ctx.actor(),
      );
    },
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
    description:
      "Revokes a key. It stops working at once on every gateway process. A tenant key with MANAGE_KEYS revokes its own tenant's keys.",
    authScopes: { admin: true, manageKeys: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: RevokeApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await assertKeyOfCaller(ctx, input.id.id);
      return revokeApiKey(ctx, input.id.id, ctx.actor());
    },
  }),
);

const RotateApiKeyInput = builder.inputType('RotateApiKeyInput', {
  fields: (t) => ({
    keyId: t.globalID({ required: true, for: ApiKeyRef }),
    gracePeriodSeconds: t.int({
      required: true,
      validate: gracePeriodSeconds,
      description: 'How long the old secret keeps working (0: it stops at once; at most 30 days)',
    }),
  }),
});

builder.mutationField('rotateApiKey', (t) =>
  t.field({
    type: RotatedApiKeyRef,
    description:
      'Replaces a key with a new secret of the same settings; the old secret works until the grace period ends. ' +
      "Admins for any key; a tenant key with MANAGE_KEYS for its own tenant's keys.",
    authScopes: { admin: true, manageKeys: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: RotateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await assertKeyOfCaller(ctx, input.keyId.id);
      return rotateApiKey(ctx, { keyId: input.keyId.id, gracePeriodSeconds: input.gracePeriodSeconds }, ctx.actor());
    },
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
