import { describe, expect, it } from 'vitest';
import { CATALOG, GENERATION_MODELS } from '../../src/catalog.ts';
import { NotFoundError } from '../../src/errors.ts';
import { effectivePrices, priceOf, setPrice } from '../../src/ledger/pricing.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { useTestStore } from '../helpers/db.ts';

// The one pricing rule: the tenant's override, else the default override,
// else the catalogue's price. Each test file has its own database, so the
// default override set below is seen by this file only.
const ctx = useTestStore();

const newTenant = async () => (await createTenant(ctx.db, { name: `pricing ${Math.random()}` })).id;

describe('prices', () => {
  it('with no price rows, every model costs its catalogue price, listed in catalogue order', async () => {
    const tenantId = await newTenant();
    const expected = GENERATION_MODELS.map((model) => ({ model, credits: CATALOG[model].defaultPrice }));
    expect(await effectivePrices(ctx.db, tenantId)).toEqual(expected);
    for (const { model, credits } of expected) expect(await priceOf(ctx.db, tenantId, model)).toBe(credits);
  });

  it("a tenant's override beats the default override, which beats the catalogue; others keep theirs", async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    expect(await setPrice(ctx.db, { model: 'TEXT_TO_VIDEO', credits: 70 })).toEqual({ model: 'TEXT_TO_VIDEO', credits: 70 });
    expect(await setPrice(ctx.db, { model: 'TEXT_TO_VIDEO', credits: 55, tenantId: a })).toEqual({
      model: 'TEXT_TO_VIDEO',
      credits: 55,
    });
    expect(await setPrice(ctx.db, { model: 'UPSCALE', credits: 3, tenantId: a })).toEqual({ model: 'UPSCALE', credits: 3 });

    expect(await priceOf(ctx.db, a, 'TEXT_TO_VIDEO')).toBe(55);
    expect(await priceOf(ctx.db, b, 'TEXT_TO_VIDEO')).toBe(70);
    expect(await priceOf(ctx.db, a, 'UPSCALE')).toBe(3);
    expect(await priceOf(ctx.db, b, 'UPSCALE')).toBe(CATALOG.UPSCALE.defaultPrice);
    expect(await effectivePrices(ctx.db, a)).toEqual([
      { model: 'TEXT_TO_IMAGE', credits: CATALOG.TEXT_TO_IMAGE.defaultPrice },
      { model: 'TEXT_TO_VIDEO', credits: 55 },
      { model: 'IMAGE_TO_VIDEO', credits: CATALOG.IMAGE_TO_VIDEO.defaultPrice },
      { model: 'UPSCALE', credits: 3 },
    ]);
    expect((await effectivePrices(ctx.db, b))[1]).toEqual({ model: 'TEXT_TO_VIDEO', credits: 70 });
  });

  it('setting a price again replaces it: one row per model and scope', async () => {
    const tenantId = await newTenant();
    await setPrice(ctx.db, { model: 'TEXT_TO_IMAGE', credits: 9, tenantId });
    await setPrice(ctx.db, { model: 'TEXT_TO_IMAGE', credits: 11, tenantId });
    expect(await priceOf(ctx.db, tenantId, 'TEXT_TO_IMAGE')).toBe(11);
    expect(await ctx.db.price.count({ where: { tenantId } })).toBe(1);
    expect(await ctx.db.price.findFirstOrThrow({ where: { tenantId } })).toMatchObject({ scope: tenantId, credits: 11 });
  });

  it('an override for an unknown tenant is NOT_FOUND and writes nothing', async () => {
    const before = await ctx.db.price.count();
    await expect(
      setPrice(ctx.db, { model: 'UPSCALE', credits: 2, tenantId: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(setPrice(ctx.db, { model: 'UPSCALE', credits: 2, tenantId: '00000000-0000-4000-8000-000000000000' })).rejects.toThrow(
      'Tenant not found',
    );
    expect(await ctx.db.price.count()).toBe(before);
  });

  it('a price set with an actor is audited in its transaction, naming model, credits and tenant; one without is not', async () => {
    const tenantId = await newTenant();
    await setPrice(ctx.db, { model: 'UPSCALE', credits: 4, tenantId });
    expect(await ctx.db.auditEvent.count({ where: { tenantId, action: 'price.set' } })).toBe(0);
    await setPrice(ctx.db, { model: 'UPSCALE', credits: 6, tenantId }, { kind: 'ADMIN_KEY', keyId: null, prefix: 'gk_admin' });
    const audit = await ctx.db.auditEvent.findFirstOrThrow({ where: { tenantId, action: 'price.set' } });
    expect(audit).toMatchObject({ actorKind: 'ADMIN_KEY', actorPrefix: 'gk_admin' });
    expect(audit.details).toEqual({ model: 'UPSCALE', credits: 6, scope: 'tenant' });
    expect(await ctx.db.price.findFirstOrThrow({ where: { tenantId, model: 'UPSCALE' } })).toMatchObject({ scope: tenantId, credits: 6 });
  });

  it("the default price is the row scoped '*' with no tenant, audited as the default", async () => {
    await setPrice(ctx.db, { model: 'IMAGE_TO_VIDEO', credits: 9 }, { kind: 'ADMIN_TOKEN', keyId: null, prefix: null });
    expect(await ctx.db.price.findFirstOrThrow({ where: { model: 'IMAGE_TO_VIDEO', tenantId: null } })).toMatchObject({ scope: '*', credits: 9 });
    const audit = await ctx.db.auditEvent.findFirstOrThrow({ where: { action: 'price.set', tenantId: null }, orderBy: { createdAt: 'desc' } });
    expect(audit.details).toEqual({ model: 'IMAGE_TO_VIDEO', credits: 9, scope: 'default' });
  });
});
