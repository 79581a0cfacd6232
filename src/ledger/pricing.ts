import type { Db, Tx } from '../db/client.ts';
import type { GenerationModel } from '../generated/prisma/enums.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { upstreamCost } from '../tasks/models.ts';

export const GENERATION_MODELS = ['TEXT_TO_IMAGE', 'TEXT_TO_VIDEO', 'IMAGE_TO_VIDEO', 'UPSCALE'] as const satisfies readonly GenerationModel[];


export const MAX_PRICE = 1_000_000;

export interface PriceView {
  model: GenerationModel;
  credits: number;
}

/** `price.scope` of the default price; a tenant's override has its id. */
export const DEFAULT_PRICE_SCOPE = '*';

/**
 * The tenant's price per model: its own override, else the default override,
 * else the upstream cost (so a fresh install resells at cost).
 */
export async function effectivePrices(db: Db | Tx, tenantId: string): Promise<PriceView[]> {
  const rows = await db.price.findMany({
    where: { scope: { in: [DEFAULT_PRICE_SCOPE, tenantId] } },
    select: { model: true, scope: true, credits: true },
  });
  return GENERATION_MODELS.map((model) => {
    const own = rows.find((r) => r.model === model && r.scope === tenantId);
    const fallback = rows.find((r) => r.model === model && r.scope === DEFAULT_PRICE_SCOPE);
    return { model, credits: (own ?? fallback)?.credits ?? upstreamCost(model) };
  });
}

export async function effectivePrice(db: Db | Tx, tenantId: string, model: GenerationModel): Promise<number> {
  const prices = await effectivePrices(db, tenantId);
  return prices.find((p) => p.model === model)?.credits ?? upstreamCost(model);
}

/** Sets the default price (no tenant) or a tenant's override. Upserts. */
export async function setPrice(
  db: Db,
  input: { model: GenerationModel; credits: number; tenantId?: string | null },
): Promise<PriceView> {
  // At least 1: every generation goes through a hold, and holds are positive.
  if (!Number.isSafeInteger(input.credits) || input.credits < 1 || input.credits > MAX_PRICE) {
    throw new ValidationError(`credits must be an integer from 1 to ${MAX_PRICE}`, 'credits');
  }
  const tenantId = input.tenantId ?? null;
  if (tenantId) {
    const tenant = await db.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
    if (!tenant) throw new NotFoundError('Tenant not found');
  }
  const scope = tenantId ?? DEFAULT_PRICE_SCOPE;
  const row = await db.price.upsert({
    where: { model_scope: { model: input.model, scope } },
    create: { model: input.model, scope, tenantId, credits: input.credits },
    update: { credits: input.credits },
    select: { model: true, credits: true },
  });
  return row;
}
