import { describe, expect, it } from 'vitest';
import type { AuditActor } from '../../src/audit/log.ts';
import { CATALOG, GENERATION_MODELS } from '../../src/catalog.ts';
import { NotFoundError } from '../../src/errors.ts';
import { topUp } from '../../src/ledger/credits.ts';
import { countTenantEntries, findTenantEntry, listTenantEntries } from '../../src/ledger/entries.ts';
import { defaultPrices, effectivePrices, priceOverrides, removePrice, setPrice } from '../../src/ledger/pricing.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { useTestStore } from '../helpers/db.ts';

// What admins read of prices and remove, and the statement's count and single
// entry, called as the GraphQL resolvers call them (their end-to-end side is
// in test/api/), so the mutation run sees them pinned where they are written.
// This file has its own database: the default prices set here are its own.
const ctx = useTestStore();

const ADMIN: AuditActor = { kind: 'ADMIN_TOKEN', keyId: null, prefix: null };
const UNKNOWN = '00000000-0000-4000-8000-0000000000aa';
const newTenant = async () => (await createTenant(ctx.db, { name: `price table ${Math.random()}` })).id;
const catalogue = (model: (typeof GENERATION_MODELS)[number]) => CATALOG[model].defaultPrice;

describe('the price table', () => {
  it("defaultPrices: the default price where one is set, else the catalogue's, in catalogue order; a tenant's override is not in it", async () => {
    const tenantId = await newTenant();
    expect(await defaultPrices(ctx.db)).toEqual(GENERATION_MODELS.map((model) => ({ model, credits: catalogue(model) })));
    await setPrice(ctx.db, { model: 'TEXT_TO_VIDEO', credits: 30 });
    await setPrice(ctx.db, { model: 'UPSCALE', credits: 2, tenantId });
    expect(await defaultPrices(ctx.db)).toEqual(
      GENERATION_MODELS.map((model) => ({ model, credits: model === 'TEXT_TO_VIDEO' ? 30 : catalogue(model) })),
    );
    await removePrice(ctx.db, { model: 'TEXT_TO_VIDEO' }, ADMIN);
  });

  it("priceOverrides: only the tenant's own rows, in catalogue order; none for a tenant without any", async () => {
    const tenantId = await newTenant();
    const other = await newTenant();
    expect(await priceOverrides(ctx.db, tenantId)).toEqual([]);
    await setPrice(ctx.db, { model: 'UPSCALE', credits: 3, tenantId });
    await setPrice(ctx.db, { model: 'TEXT_TO_IMAGE', credits: 7, tenantId });
    await setPrice(ctx.db, { model: 'TEXT_TO_VIDEO', credits: 40, tenantId: other });
    await setPrice(ctx.db, { model: 'IMAGE_TO_VIDEO', credits: 20 });
    expect(await priceOverrides(ctx.db, tenantId)).toEqual([
      { model: 'TEXT_TO_IMAGE', credits: 7 },
      { model: 'UPSCALE', credits: 3 },
    ]);
    await removePrice(ctx.db, { model: 'IMAGE_TO_VIDEO' }, ADMIN);
  });
});

describe('removePrice', () => {
  it("removing a tenant's override answers the price that applies now (the default, else the catalogue's), audited in the same transaction", async () => {
    const tenantId = await newTenant();
    await setPrice(ctx.db, { model: 'UPSCALE', credits: 3, tenantId });
    await setPrice(ctx.db, { model: 'UPSCALE', credits: 9 });
    expect(await removePrice(ctx.db, { model: 'UPSCALE', tenantId }, ADMIN)).toEqual({ model: 'UPSCALE', credits: 9 });
    expect((await effectivePrices(ctx.db, tenantId)).find((p) => p.model === 'UPSCALE')).toEqual({ model: 'UPSCALE', credits: 9 });
    const audit = await ctx.db.auditEvent.findFirstOrThrow({ where: { tenantId, action: 'price.remove' } });
    expect(audit).toMatchObject({ actorKind: 'ADMIN_TOKEN' });
    expect(audit.details).toEqual({ model: 'UPSCALE', scope: 'tenant' });
    // Removing the default goes back to the catalogue, for that tenant too.
    expect(await removePrice(ctx.db, { model: 'UPSCALE' }, ADMIN)).toEqual({ model: 'UPSCALE', credits: catalogue('UPSCALE') });
    const defaultAudit = await ctx.db.auditEvent.findFirstOrThrow({ where: { tenantId: null, action: 'price.remove' }, orderBy: { createdAt: 'desc' } });
    expect(defaultAudit.details).toEqual({ model: 'UPSCALE', scope: 'default' });
    expect(await ctx.db.price.count({ where: { model: 'UPSCALE', OR: [{ scope: '*' }, { scope: tenantId }] } })).toBe(0);
  });

  it("removes only that row: another model's override, another tenant's and the default stay", async () => {
    const tenantId = await newTenant();
    const other = await newTenant();
    await setPrice(ctx.db, { model: 'TEXT_TO_IMAGE', credits: 4, tenantId });
    await setPrice(ctx.db, { model: 'UPSCALE', credits: 5, tenantId });
    await setPrice(ctx.db, { model: 'TEXT_TO_IMAGE', credits: 6, tenantId: other });
    await setPrice(ctx.db, { model: 'TEXT_TO_IMAGE', credits: 8 });
    await removePrice(ctx.db, { model: 'TEXT_TO_IMAGE', tenantId }, ADMIN);
    expect(await priceOverrides(ctx.db, tenantId)).toEqual([{ model: 'UPSCALE', credits: 5 }]);
    expect(await priceOverrides(ctx.db, other)).toEqual([{ model: 'TEXT_TO_IMAGE', credits: 6 }]);
    expect((await defaultPrices(ctx.db))[0]).toEqual({ model: 'TEXT_TO_IMAGE', credits: 8 });
    await removePrice(ctx.db, { model: 'TEXT_TO_IMAGE' }, ADMIN);
  });

  it('an unknown tenant, or a price that is not set, is NOT_FOUND naming which; nothing is written or audited', async () => {
    const tenantId = await newTenant();
    const audits = await ctx.db.auditEvent.count();
    const unknown = removePrice(ctx.db, { model: 'UPSCALE', tenantId: UNKNOWN }, ADMIN);
    await expect(unknown).rejects.toBeInstanceOf(NotFoundError);
    await expect(unknown).rejects.toThrow('Tenant not found');
    await expect(removePrice(ctx.db, { model: 'UPSCALE', tenantId }, ADMIN)).rejects.toThrow(
      'This tenant has no price of its own for UPSCALE',
    );
    await expect(removePrice(ctx.db, { model: 'TEXT_TO_VIDEO' }, ADMIN)).rejects.toThrow('No default price is set for TEXT_TO_VIDEO');
    expect(await ctx.db.auditEvent.count()).toBe(audits);
  });
});

describe("a tenant's statement: count and single entry", () => {
  it("countTenantEntries counts the tenant's entries only", async () => {
    const tenantId = await newTenant();
    const other = await newTenant();
    expect(await countTenantEntries(ctx.db, tenantId)).toBe(0);
    for (let i = 1; i <= 3; i++) await topUp(ctx.store, { tenantId, amount: i, idempotencyKey: `c${i}` });
    await topUp(ctx.store, { tenantId: other, amount: 1, idempotencyKey: 'c' });
    expect(await countTenantEntries(ctx.db, tenantId)).toBe(3);
  });

  it("findTenantEntry: the tenant's own entry; another tenant's is null; without a tenant any tenant's, never a system account's", async () => {
    const tenantId = await newTenant();
    const other = await newTenant();
    await topUp(ctx.store, { tenantId, amount: 5, idempotencyKey: 'f' });
    const [entry] = await listTenantEntries(ctx.db, tenantId, { take: 1 });
    expect(await findTenantEntry(ctx.db, entry!.id, tenantId)).toEqual(entry);
    expect(await findTenantEntry(ctx.db, entry!.id, other)).toBeNull();
    expect(await findTenantEntry(ctx.db, entry!.id, null)).toEqual(entry);
    // The other side of the same transfer: the TOP_UP system account's entry.
    const system = await ctx.db.entry.findFirstOrThrow({ where: { transferId: (await ctx.db.entry.findUniqueOrThrow({ where: { id: entry!.id } })).transferId, NOT: { id: entry!.id } } });
    expect(await findTenantEntry(ctx.db, system.id, null)).toBeNull();
    expect(await findTenantEntry(ctx.db, 999_999_999n, null)).toBeNull();
  });
});
