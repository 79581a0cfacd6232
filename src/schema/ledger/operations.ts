import { z } from 'zod';
import { IdempotencyConflictError, InsufficientCreditsError, NotFoundError } from '../../errors.ts';
import { adjust, topUp } from '../../ledger/credits.ts';
import { countTenantEntries, listTenantEntries } from '../../ledger/entries.ts';
import {
  adjustmentAmount,
  adjustmentReason,
  creditAmount,
  entryNote,
  idempotencyKey,
  lowBalanceThreshold,
  priceCredits,
} from '../../ledger/inputs.ts';
import { defaultPrices, effectivePrices, priceOf, setPrice } from '../../ledger/pricing.ts';
import { isLow, setLowBalanceThreshold } from '../../ledger/accounts.ts';
import { builder } from '../builder.ts';
import { counted } from '../connections.ts';
import { idConnection } from '../cursors.ts';
import { InputError } from '../errors.ts';
import { tenantOfCaller } from '../tenants/access.ts';
import { BalanceRef, TenantRef } from '../tenants/types.ts';
import type { GenerationModel } from '../../catalog.ts';
import { GenerationModelEnum, LedgerEntryConnectionRef, LedgerEntryRef, PriceRef } from './types.ts';

builder.queryField('prices', (t) =>
  t.field({
    type: [PriceRef],
    description:
      "A tenant's effective price per model, in credits: a tenant key's own (tenantId omitted or its own). " +
      "Admins: the tenant's, or without tenantId the default price table (Tenant.priceOverrides lists a tenant's own prices)",
    authScopes: { read: true, admin: true },
    args: { tenantId: t.arg.globalID({ for: TenantRef }) },
    resolve: (_root, args, ctx) => {
      const tenantId = args.tenantId?.id ?? null;
      if (ctx.principal?.kind === 'admin') return tenantId ? effectivePrices(ctx.db, tenantId) : defaultPrices(ctx.db);
      // Another tenant's id reads as unknown, as everywhere (tenants/access.ts).
      if (tenantId && tenantId !== ctx.tenantId()) throw new NotFoundError('Tenant not found');
      return effectivePrices(ctx.db, ctx.tenantId());
    },
  }),
);

/** The statement pages forward (older) only. */
const forwardOnly = z.looseObject({
  before: z.null({ error: 'ledgerEntries pages forward only: use first/after' }).optional(),
  last: z.null({ error: 'ledgerEntries pages forward only: use first/after' }).optional(),
});

builder.queryField('ledgerEntries', (t) =>
  t.connection(
    {
      type: LedgerEntryRef,
      description: "This tenant's ledger entries, newest first; an admin names the tenant (tenantId)",
      // Admins read a tenant's statement too (the console's tenant page).
      authScopes: { read: true, admin: true },
      args: {
        tenantId: t.arg.globalID({ for: TenantRef, description: "Required for admins; a tenant key may omit it or give its own tenant's id" }),
      },
      validate: forwardOnly,
      resolve: (_root, args, ctx) => {
        const tenantId = tenantOfCaller(ctx, args.tenantId?.id);
        // Newest first, so "after" a cursor means older: smaller ids.
        return counted(
          idConnection({ list: 'ledgerEntries', caller: tenantId }, args, ({ beforeId, take }) =>
            listTenantEntries(ctx.db, tenantId, { take, beforeId }),
          ),
          () => countTenantEntries(ctx.db, tenantId),
        );
      },
    },
    LedgerEntryConnectionRef,
  ),
);

const TopUpCreditsInput = builder.inputType('TopUpCreditsInput', {
  fields: (t) => ({
    tenantId: t.globalID({ required: true, for: TenantRef }),
    amount: t.int({ required: true, validate: creditAmount }),
    idempotencyKey: t.string({
      required: true,
      validate: idempotencyKey,
      description: 'Unique per tenant; a retry with the same key and amount returns the first entry',
    }),
    note: t.string({ validate: entryNote.nullish() }),
  }),
});

builder.mutationField('topUpCredits', (t) =>
  t.field({
    type: LedgerEntryRef,
    authScopes: { admin: true },
    errors: { types: [InputError, NotFoundError, IdempotencyConflictError] },
    args: { input: t.arg({ type: TopUpCreditsInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      topUp(ctx.store, {
        tenantId: input.tenantId.id,
        amount: input.amount,
        idempotencyKey: input.idempotencyKey,
        note: input.note ?? null,
      }, ctx.actor()),
  }),
);

const AdjustCreditsInput = builder.inputType('AdjustCreditsInput', {
  fields: (t) => ({
    tenantId: t.globalID({ required: true, for: TenantRef }),
    amount: t.int({
      required: true,
      validate: adjustmentAmount,
      description: 'Positive adds credits, negative removes them (never below zero available)',
    }),
    reason: t.string({ required: true, validate: adjustmentReason, description: "Why: the entry's note and the audit log's" }),
    idempotencyKey: t.string({
      required: true,
      validate: idempotencyKey,
      description: 'Unique per tenant; a retry with the same key and amount returns the first entry',
    }),
  }),
});

builder.mutationField('adjustCredits', (t) =>
  t.field({
    type: LedgerEntryRef,
    description:
      "Corrects a tenant's balance: an ADJUSTMENT transfer against the ADJUSTMENT system account. " +
      'Removing more than is available (credits held for tasks in flight are not taken) is INSUFFICIENT_CREDITS.',
    authScopes: { admin: true },
    errors: { types: [InputError, NotFoundError, IdempotencyConflictError, InsufficientCreditsError] },
    args: { input: t.arg({ type: AdjustCreditsInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      adjust(
        ctx.store,
        { tenantId: input.tenantId.id, amount: input.amount, reason: input.reason, idempotencyKey: input.idempotencyKey },
        ctx.actor(),
      ),
  }),
);

const SetPriceInput = builder.inputType('SetPriceInput', {
  fields: (t) => ({
    model: t.field({ type: GenerationModelEnum, required: true }),
    credits: t.int({ required: true, validate: priceCredits }),
    tenantId: t.globalID({ for: TenantRef, description: 'Omit to set the default price for every tenant without an override' }),
  }),
});

builder.mutationField('setPrice', (t) =>
  t.field({
    type: PriceRef,
    authScopes: { admin: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: SetPriceInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      setPrice(ctx.db, { model: input.model, credits: input.credits, tenantId: input.tenantId?.id ?? null }, ctx.actor()),
  }),
);

const QuoteRef = builder.objectRef<{ model: GenerationModel; credits: number; available: number }>('Quote').implement({
  description: 'What one generation of a model would cost the caller now, and whether its balance covers it',
  fields: (t) => ({
    model: t.field({ type: GenerationModelEnum, resolve: (q) => q.model }),
    credits: t.exposeInt('credits', { description: "The caller's price" }),
    available: t.exposeInt('available', { description: 'Credits available now' }),
    affordable: t.boolean({ resolve: (q) => q.available >= q.credits }),
  }),
});

const QuoteInput = builder.inputType('QuoteInput', {
  fields: (t) => ({ model: t.field({ type: GenerationModelEnum, required: true }) }),
});

builder.queryField('quote', (t) =>
  t.field({
    type: QuoteRef,
    description: 'Your price for a model and whether your balance covers it. Holds nothing: a generation may still be refused.',
    authScopes: { read: true },
    args: { input: t.arg({ type: QuoteInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const tenantId = ctx.tenantId();
      const [credits, account] = await Promise.all([
        priceOf(ctx.db, tenantId, input.model),
        ctx.db.account.findUniqueOrThrow({ where: { tenantId }, select: { available: true } }),
      ]);
      return { model: input.model, credits, available: account.available };
    },
  }),
);

const SetLowBalanceThresholdInput = builder.inputType('SetLowBalanceThresholdInput', {
  fields: (t) => ({
    tenantId: t.globalID({ for: TenantRef, description: "Required for admins; a tenant key may omit it or give its own tenant's id" }),
    credits: t.int({ validate: lowBalanceThreshold.nullish(), description: 'Below this many credits available the balance is low; null clears it' }),
  }),
});

builder.mutationField('setLowBalanceThreshold', (t) =>
  t.field({
    type: BalanceRef,
    description: "Sets when a balance counts as low (Balance.low, balance events). Admins for any tenant, a tenant for itself.",
    authScopes: { admin: true, tenant: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: SetLowBalanceThresholdInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const tenantId = tenantOfCaller(ctx, input.tenantId?.id);
      const balance = await setLowBalanceThreshold(ctx.store, { tenantId, credits: input.credits ?? null }, ctx.actor());
      return { available: balance.available, held: balance.held, low: isLow(balance) };
    },
  }),
);
