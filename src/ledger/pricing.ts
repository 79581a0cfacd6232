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
    (SELECT credits FROM price WHERE model = ${model}::"GenerationModel" AND scope = ${DEFAULT_PRICE_SCOPE}),
    ${CATALOG[model].defaultPrice}::int)`;
}

/** A step with one row whose `amount` is the tenant's price for `model`: what a reservation holds. */
export function priceStep(tenantId: string, model: GenerationModel, name = 'price'): Step {
  return step(name, sql`SELECT ${priceSql(tenantId, model)} AS amount`);
}

/** The tenant's price for every model, in catalogue order. */
export async function effectivePrices(db: Db, tenantId: string): Promise<PriceView[]> {
  const rows = GENERATION_MODELS.map((model, i) => sql`(${i}::int, ${model}::text, ${priceSql(tenantId, model)})`);
  return db.$queryRaw<PriceView[]>(
    sql`SELECT model, credits FROM (VALUES ${join(rows, ', ')}) AS p(n, model, credits) ORDER BY n`,
  );
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

/** The tenant's price for one model now (for messages; the reservation reads it inside its own statement). */
export async function priceOf(db: Db, tenantId: string, model: GenerationModel): Promise<number> {
  const rows = await db.$queryRaw<{ amount: number }[]>(sql`SELECT ${priceSql(tenantId, model)} AS amount`);
  return rows[0]!.amount;
}
