import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { IdempotencyConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { listTenantEntries } from '../../ledger/entries.ts';
import { effectivePrices, setPrice } from '../../ledger/pricing.ts';
import { topUp } from '../../ledger/top-up.ts';
import { builder } from '../builder.ts';
import { decodeId } from '../ids.ts';
import { GenerationModelEnum, LedgerEntryRef, PriceRef } from './types.ts';

builder.queryField('prices', (t) =>
  t.field({
    type: [PriceRef],
    description: "This tenant's effective price per model, in credits",
    authScopes: { tenant: true },
    resolve: (_root, _args, ctx) => effectivePrices(ctx.db, ctx.tenantId()),
  }),
);

builder.queryField('ledgerEntries', (t) =>
  t.connection({
    type: LedgerEntryRef,
    description: "This tenant's ledger entries, newest first",
    authScopes: { tenant: true },
    resolve: (_root, args, ctx) =>
      resolveCursorConnection(
        { args, toCursor: (entry) => entry.id.toString(), defaultSize: 20, maxSize: 100 },
        ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => {
          // Newest first, so "after" a cursor means older: smaller ids.
          if (before || inverted) {
            throw new ValidationError('ledgerEntries pages forward only: use first/after', 'before');
          }
          const beforeId = after && /^\d{1,19}$/.test(after) ? BigInt(after) : undefined;
          if (after && beforeId === undefined) throw new ValidationError('Invalid cursor', 'after');
          return listTenantEntries(ctx.db, ctx.tenantId(), { take: limit, beforeId });
        },
      ),
  }),
);

const TopUpCreditsInput = builder.inputType('TopUpCreditsInput', {
  fields: (t) => ({
    tenantId: t.id({ required: true }),
    amount: t.int({ required: true }),
    idempotencyKey: t.string({ required: true, description: 'Unique per tenant; a retry with the same key and amount returns the first entry' }),
    note: t.string(),
  }),
});

builder.mutationField('topUpCredits', (t) =>
  t.field({
    type: LedgerEntryRef,
    authScopes: { admin: true },
    errors: { types: [ValidationError, NotFoundError, IdempotencyConflictError] },
    args: { input: t.arg({ type: TopUpCreditsInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const tenantId = decodeId('Tenant', String(input.tenantId));
      const entry = await topUp(ctx.db, {
        tenantId,
        amount: input.amount,
        idempotencyKey: input.idempotencyKey,
        note: input.note ?? null,
      });
      ctx.bus.balanceChanged(tenantId);
      return entry;
    },
  }),
);

const SetPriceInput = builder.inputType('SetPriceInput', {
  fields: (t) => ({
    model: t.field({ type: GenerationModelEnum, required: true }),
    credits: t.int({ required: true }),
    tenantId: t.id({ description: "Omit to set the default price for every tenant without an override" }),
  }),
});

builder.mutationField('setPrice', (t) =>
  t.field({
    type: PriceRef,
    authScopes: { admin: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: { input: t.arg({ type: SetPriceInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      setPrice(ctx.db, {
        model: input.model,
        credits: input.credits,
        tenantId: input.tenantId == null ? null : decodeId('Tenant', String(input.tenantId)),
      }),
  }),
);
