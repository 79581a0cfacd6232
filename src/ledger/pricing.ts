// What a tenant pays per model. One rule, in SQL, used both to list prices
// and inside the reservation that holds them: the tenant's own override, else
// the default override (a price row without tenant), else the catalogue's
// default price (resale at cost). `price` rows are the ledger's to write.
import { CATALOG, GENERATION_MODELS, type GenerationModel } from '../catalog.ts';
import { recordAudit, type AuditActor } from '../audit/log.ts';
import type { Db } from '../db/client.ts';
import { join, sql, step, type Sql, type Step } from '../db/sql.ts';
import { NotFoundError } from '../errors.ts';

/** The highest price an admin may set per task. */
export const MAX_PRICE = 1_000_000;

/** `price.scope` of the default price; a tenant's override has its id. */
export const DEFAULT_PRICE_SCOPE = '*';

export interface PriceView {
  model: GenerationModel;
  credits: number;
}

/** The tenant's price for `model`, as an SQL expression. */
export function priceSql(tenantId: string, model: GenerationModel): Sql {
  return sql`COALESCE(
    (SELECT credits FROM price WHERE model = ${model}::"GenerationModel" AND scope = ${tenantId}),
    ${defaultPriceSql(model)})`;
}

/** The price of `model` for a tenant without an override, as an SQL expression. */
function defaultPriceSql(model: GenerationModel): Sql {
  return sql`COALESCE(
    (SELECT credits FROM price WHERE model = ${model}::"GenerationModel" AND scope = ${DEFAULT_PRICE_SCOPE}),
    ${CATALOG[model].defaultPrice}::int)`;
}

/** A step with one row whose `amount` is the tenant's price for `model`: what a reservation holds. */
export function priceStep(tenantId: string, model: GenerationModel, name = 'price'): Step {
  return step(name, sql`SELECT ${priceSql(tenantId, model)} AS amount`);
}

/** The tenant's price for every model, in catalogue order. */
export async function effectivePrices(db: Db, tenantId: string): Promise<PriceView[]> {
  return pricesOf(db, (model) => priceSql(tenantId, model));
}

/** The price table of tenants without an override: the default price, else the catalogue's, per model in catalogue order. */
export async function defaultPrices(db: Db): Promise<PriceView[]> {
  return pricesOf(db, defaultPriceSql);
}

async function pricesOf(db: Db, price: (model: GenerationModel) => Sql): Promise<PriceView[]> {
  const rows = GENERATION_MODELS.map((model, i) => sql`(${i}::int, ${model}::text, ${price(model)})`);
  return db.$queryRaw<PriceView[]>(
    sql`SELECT model, credits FROM (VALUES ${join(rows, ', ')}) AS p(n, model, credits) ORDER BY n`,
  );
}

/** The tenant's own overrides (none: it pays the default prices), in catalogue order. */
export async function priceOverrides(db: Db, tenantId: string): Promise<PriceView[]> {
  const rows = await db.price.findMany({ where: { scope: tenantId }, select: { model: true, credits: true } });
  return rows.sort((a, b) => GENERATION_MODELS.indexOf(a.model) - GENERATION_MODELS.indexOf(b.model));
}

/** Sets the default price (no tenant) or a tenant's override; with an actor, audited in the same transaction. */
export async function setPrice(
  db: Db,
  input: { model: GenerationModel; credits: number; tenantId?: string | null },
  actor?: AuditActor,
): Promise<PriceView> {
  const tenantId = input.tenantId ?? null;
  const scope = tenantId ?? DEFAULT_PRICE_SCOPE;
  return db.$transaction(async (tx) => {
    if (tenantId) {
      const tenant = await tx.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
      if (!tenant) throw new NotFoundError('Tenant not found');
    }
    const price = await tx.price.upsert({
      where: { model_scope: { model: input.model, scope } },
      create: { model: input.model, scope, tenantId, credits: input.credits },
      update: { credits: input.credits },
      select: { model: true, credits: true },
    });
    if (actor) {
      await recordAudit(tx, { actor, action: 'price.set', tenantId, details: { model: input.model, credits: input.credits, scope: tenantId ? 'tenant' : 'default' } });
    }
    return price;
  });
}

/**
 * Removes a tenant's override, or without a tenant the default price (back to
 * the catalogue's); audited in the same transaction. Returns the price that
 * applies from now on. NotFoundError for an unknown tenant or no such price.
 */
export async function removePrice(
  db: Db,
  input: { model: GenerationModel; tenantId?: string | null },
  actor: AuditActor,
): Promise<PriceView> {
  const tenantId = input.tenantId ?? null;
  return db.$transaction(async (tx) => {
    if (tenantId) {
      const tenant = await tx.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
      if (!tenant) throw new NotFoundError('Tenant not found');
    }
    const removed = await tx.price.deleteMany({ where: { model: input.model, scope: tenantId ?? DEFAULT_PRICE_SCOPE } });
    if (removed.count === 0) {
      throw new NotFoundError(tenantId ? `This tenant has no price of its own for ${input.model}` : `No default price is set for ${input.model}`);
    }
    await recordAudit(tx, { actor, action: 'price.remove', tenantId, details: { model: input.model, scope: tenantId ? 'tenant' : 'default' } });
    const now = await tx.$queryRaw<{ credits: number }[]>(
      sql`SELECT ${tenantId ? priceSql(tenantId, input.model) : defaultPriceSql(input.model)} AS credits`,
    );
    return { model: input.model, credits: now[0]!.credits };
  });
}

/** The tenant's price for one model now (for messages; the reservation reads it inside its own statement). */
export async function priceOf(db: Db, tenantId: string, model: GenerationModel): Promise<number> {
  const rows = await db.$queryRaw<{ amount: number }[]>(sql`SELECT ${priceSql(tenantId, model)} AS amount`);
  return rows[0]!.amount;
}
