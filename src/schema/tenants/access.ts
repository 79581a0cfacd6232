// What a tenant key may reach when a field is open to admins and to tenant
// keys of a scope (MANAGE_KEYS, …): its own tenant and that tenant's keys,
// and nothing else. Another tenant's id reads as unknown (NOT_FOUND), so a
// key learns nothing about which ids exist.
import { ALL_SCOPES } from '../../auth/api-keys.ts';
import type { ApiKeyScope, CreditLimitPeriod } from '../../generated/prisma/enums.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { Context } from '../../server/context.ts';

/** The tenant a caller acts on: an admin names it; a tenant key acts on its own (naming it is optional). */
export function tenantOfCaller(ctx: Context, tenantId: string | null | undefined): string {
  const p = ctx.principal;
  if (p?.kind === 'tenant') {
    if (tenantId && tenantId !== p.tenantId) throw new NotFoundError('Tenant not found');
    return p.tenantId;
  }
  if (!tenantId) throw new ValidationError('tenantId: required for an admin', 'tenantId');
  return tenantId;
}

/** Refuses a key of another tenant (or an admin key) to a tenant caller; admins reach every key. */
export async function assertKeyOfCaller(ctx: Context, keyId: string): Promise<void> {
  const p = ctx.principal;
  if (p?.kind !== 'tenant') return;
  const key = await ctx.db.apiKey.findUnique({ where: { id: keyId }, select: { tenantId: true } });
  if (key?.tenantId !== p.tenantId) throw new NotFoundError('API key not found');
}

/** A tenant key grants no scope it lacks itself. */
export function assertGrantable(ctx: Context, scopes: readonly ApiKeyScope[] | null | undefined): void {
  const p = ctx.principal;
  if (p?.kind !== 'tenant') return;
  const missing = (scopes ?? ALL_SCOPES).filter((s) => !p.scopes.includes(s));
  if (missing.length > 0) throw new ValidationError(`scopes: this key cannot grant scopes it lacks: ${missing.join(', ')}`, 'scopes');
}

/**
 * The credit limit of a key a caller issues. A key with a credit limit issues
 * keys under that same limit (they count together), and cannot give them a
 * limit of their own: otherwise a limited key could mint itself more. Admins
 * and unlimited tenant keys give the limit they ask for, or none.
 */
export async function creditLimitToGrant(
  ctx: Context,
  asked: { credits: number; period: CreditLimitPeriod } | null,
): Promise<{ creditLimit: { credits: number; period: CreditLimitPeriod } | null; sharedCreditLimitId: string | null }> {
  const p = ctx.principal;
  if (p?.kind !== 'tenant') return { creditLimit: asked, sharedCreditLimitId: null };
  const own = await ctx.db.apiKey.findUnique({ where: { id: p.keyId }, select: { creditLimitId: true } });
  if (!own?.creditLimitId) return { creditLimit: asked, sharedCreditLimitId: null };
  if (asked) {
    throw new ValidationError(
      'creditLimit: this key has a credit limit; the keys it issues share it and cannot be given their own',
      'creditLimit',
    );
  }
  return { creditLimit: null, sharedCreditLimitId: own.creditLimitId };
}
