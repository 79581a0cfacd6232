import { encodeGlobalID } from '@pothos/plugin-relay';
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

export const LedgerEntryRef = builder.objectRef<LedgerEntryView>('LedgerEntry').implement({
  description: "One line of a tenant's statement",
  fields: (t) => ({
    id: t.id({ resolve: (entry) => encodeGlobalID('LedgerEntry', String(entry.id)) }),
    kind: t.field({ type: TransferKindEnum, resolve: (entry) => entry.kind }),
    amount: t.exposeInt('amount', { description: 'Signed: positive when credits came in' }),
    balanceAfter: t.exposeInt('balanceAfter', { description: 'Posted balance (available + held) after this entry' }),
    note: t.exposeString('note', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const PriceRef = builder.objectRef<PriceView>('Price').implement({
  fields: (t) => ({
    model: t.field({ type: GenerationModelEnum, resolve: (price) => price.model }),
    credits: t.exposeInt('credits'),
  }),
});
