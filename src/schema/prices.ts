import { NotFoundError } from '../errors.ts';
import { priceOverrides, removePrice } from '../ledger/pricing.ts';
import { builder } from './builder.ts';
import { InputError } from './errors.ts';
import { GenerationModelEnum, PriceRef } from './ledger/types.ts';
import { TenantRef } from './tenants/types.ts';

// Prices beyond `prices` and `setPrice` (ledger/operations.ts): a tenant's
// own overrides, and removing one. The ledger owns the rows (ledger/pricing.ts).

builder.objectField(TenantRef, 'priceOverrides', (t) =>
  t.field({
    type: [PriceRef],
    description: "This tenant's own prices (setPrice with its tenantId), in catalogue order; every other model costs it the default price",
    resolve: (tenant, _args, ctx) => priceOverrides(ctx.db, tenant.id),
  }),
);

const RemovePriceInput = builder.inputType('RemovePriceInput', {
  fields: (t) => ({
    model: t.field({ type: GenerationModelEnum, required: true }),
    tenantId: t.globalID({
      for: TenantRef,
      description: "The tenant whose own price goes (it pays the default again); omit to remove the default price (back to the catalogue's)",
    }),
  }),
});

builder.mutationField('removePrice', (t) =>
  t.field({
    type: PriceRef,
    description: 'Removes a price set with setPrice and returns the price that applies from now on. NOT_FOUND when there is no such price.',
    authScopes: { admin: true },
    errors: { types: [InputError, NotFoundError] },
    args: { input: t.arg({ type: RemovePriceInput, required: true }) },
    resolve: (_root, { input }, ctx) => removePrice(ctx.db, { model: input.model, tenantId: input.tenantId?.id ?? null }, ctx.actor()),
  }),
);
