// The ledger's rules for what callers may ask of it, as zod schemas. The
// GraphQL edge applies them to arguments (Pothos's validation plugin), so
// input is parsed once, where it arrives, by the rules of the module that
// owns them.
import { z } from 'zod';
import { MAX_PRICE } from './pricing.ts';
import { MAX_BALANCE } from './steps.ts';

/** Credits moved by one top-up or adjustment. */
export const creditAmount = z
  .number()
  .int('must be a whole number of credits')
  .min(1, 'must be at least 1')
  .max(MAX_BALANCE, `must be at most ${MAX_BALANCE}`);

/** Credits moved by one adjustment, signed: positive adds, negative removes. */
export const adjustmentAmount = z
  .number()
  .int('must be a whole number of credits')
  .min(-MAX_BALANCE, `must be at least -${MAX_BALANCE}`)
  .max(MAX_BALANCE, `must be at most ${MAX_BALANCE}`)
  .refine((n) => n !== 0, 'must not be zero');

/** Why an adjustment was made: required, kept on the entry and in the audit log. */
export const adjustmentReason = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters');

/** Credits below which a balance is low; null clears it. */
export const lowBalanceThreshold = z
  .number()
  .int('must be a whole number of credits')
  .min(0, 'must be at least 0')
  .max(MAX_BALANCE, `must be at most ${MAX_BALANCE}`);

/** A price per task. At least 1: every generation goes through a hold, and holds are positive. */
export const priceCredits = z
  .number()
  .int('must be a whole number of credits')
  .min(1, 'must be at least 1')
  .max(MAX_PRICE, `must be at most ${MAX_PRICE}`);

/** Unique per tenant: the same key again is the same operation, never a second one. */
export const idempotencyKey = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

/** A human note on a ledger entry. */
export const entryNote = z.string().max(500, 'must be at most 500 characters');
