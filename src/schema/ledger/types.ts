import { GENERATION_MODELS } from '../../catalog.ts';
import type { LedgerEntryView } from '../../ledger/entries.ts';
import type { PriceView } from '../../ledger/pricing.ts';
import { builder } from '../builder.ts';

export const TransferKindEnum = builder.enumType('LedgerEntryKind', {
  values: ['TOP_UP', 'CHARGE', 'REFUND', 'ADJUSTMENT', 'UPSTREAM_CHARGE', 'UPSTREAM_REFUND'] as const,
});

export const GenerationModelEnum = builder.enumType('GenerationModel', {
  values: GENERATION_MODELS,
});

// A Node like every other object with an id: its global id wraps the entry's
// integer id (the same id clients have always seen), so node(id:) finds it.
export const LedgerEntryRef = builder.node(builder.objectRef<LedgerEntryView>('LedgerEntry'), {
  description: "One line of a tenant's statement",
  id: { resolve: (entry) => String(entry.id) },
  fields: (t) => ({
    kind: t.field({ type: TransferKindEnum, resolve: (entry) => entry.kind }),
    amount: t.exposeInt('amount', { description: 'Signed: positive when credits came in' }),
    balanceAfter: t.exposeInt('balanceAfter', { description: 'Posted balance (available + held) after this entry' }),
    note: t.exposeString('note', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

/** The one connection type of every list of ledger entries. */
export const LedgerEntryConnectionRef = builder.connectionObject(
  { type: LedgerEntryRef, name: 'LedgerEntryConnection' },
  { name: 'LedgerEntryEdge' },
);

export const PriceRef = builder.objectRef<PriceView>('Price').implement({
  fields: (t) => ({
    model: t.field({ type: GenerationModelEnum, resolve: (price) => price.model }),
    credits: t.exposeInt('credits'),
  }),
});
