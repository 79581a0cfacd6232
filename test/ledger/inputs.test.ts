import { describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import {
  adjustmentAmount,
  adjustmentReason,
  creditAmount,
  entryNote,
  idempotencyKey,
  lowBalanceThreshold,
  priceCredits,
} from '../../src/ledger/inputs.ts';
import { MAX_PRICE } from '../../src/ledger/pricing.ts';
import { MAX_BALANCE } from '../../src/ledger/steps.ts';

// The ledger's input rules, called as the GraphQL edge calls them (its
// validation plugin runs these schemas; the end-to-end side is in
// test/tasks/validation.test.ts and test/reseller/). Each bound is pinned on
// both sides, with the message a client reads.

/** The message a value is refused with, or 'ok'. */
function verdict(schema: ZodType, value: unknown): string {
  const parsed = schema.safeParse(value);
  return parsed.success ? 'ok' : parsed.error.issues.map((issue) => issue.message).join('; ');
}

describe('the ledger input rules', () => {
  it('creditAmount: a whole number from 1 to MAX_BALANCE', () => {
    expect(verdict(creditAmount, 1)).toBe('ok');
    expect(verdict(creditAmount, MAX_BALANCE)).toBe('ok');
    expect(verdict(creditAmount, 0)).toBe('must be at least 1');
    expect(verdict(creditAmount, MAX_BALANCE + 1)).toBe(`must be at most ${MAX_BALANCE}`);
    expect(verdict(creditAmount, 1.5)).toBe('must be a whole number of credits');
  });

  it('adjustmentAmount: signed, never zero, within ±MAX_BALANCE', () => {
    expect(verdict(adjustmentAmount, -MAX_BALANCE)).toBe('ok');
    expect(verdict(adjustmentAmount, MAX_BALANCE)).toBe('ok');
    expect(verdict(adjustmentAmount, -1)).toBe('ok');
    expect(verdict(adjustmentAmount, 0)).toBe('must not be zero');
    expect(verdict(adjustmentAmount, -MAX_BALANCE - 1)).toBe(`must be at least -${MAX_BALANCE}`);
    expect(verdict(adjustmentAmount, MAX_BALANCE + 1)).toBe(`must be at most ${MAX_BALANCE}`);
    expect(verdict(adjustmentAmount, 2.5)).toBe('must be a whole number of credits');
  });

  it('adjustmentReason: trimmed, 1 to 500 characters', () => {
    expect(adjustmentReason.parse('  goodwill  ')).toBe('goodwill');
    expect(verdict(adjustmentReason, '   ')).toBe('must not be empty');
    expect(verdict(adjustmentReason, 'x'.repeat(500))).toBe('ok');
    expect(verdict(adjustmentReason, 'x'.repeat(501))).toBe('must be at most 500 characters');
  });

  it('lowBalanceThreshold: a whole number from 0 to MAX_BALANCE', () => {
    expect(verdict(lowBalanceThreshold, 0)).toBe('ok');
    expect(verdict(lowBalanceThreshold, MAX_BALANCE)).toBe('ok');
    expect(verdict(lowBalanceThreshold, -1)).toBe('must be at least 0');
    expect(verdict(lowBalanceThreshold, MAX_BALANCE + 1)).toBe(`must be at most ${MAX_BALANCE}`);
    expect(verdict(lowBalanceThreshold, 0.5)).toBe('must be a whole number of credits');
  });

  it('priceCredits: a whole number from 1 to MAX_PRICE', () => {
    expect(verdict(priceCredits, 1)).toBe('ok');
    expect(verdict(priceCredits, MAX_PRICE)).toBe('ok');
    expect(verdict(priceCredits, 0)).toBe('must be at least 1');
    expect(verdict(priceCredits, MAX_PRICE + 1)).toBe(`must be at most ${MAX_PRICE}`);
    expect(verdict(priceCredits, 3.25)).toBe('must be a whole number of credits');
  });

  it('idempotencyKey: 1 to 200 characters, kept as given', () => {
    expect(idempotencyKey.parse(' k ')).toBe(' k ');
    expect(verdict(idempotencyKey, '')).toBe('must not be empty');
    expect(verdict(idempotencyKey, 'k'.repeat(200))).toBe('ok');
    expect(verdict(idempotencyKey, 'k'.repeat(201))).toBe('must be at most 200 characters');
  });

  it('entryNote: up to 500 characters, empty allowed', () => {
    expect(verdict(entryNote, '')).toBe('ok');
    expect(verdict(entryNote, 'n'.repeat(500))).toBe('ok');
    expect(verdict(entryNote, 'n'.repeat(501))).toBe('must be at most 500 characters');
  });
});
