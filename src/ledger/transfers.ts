import { randomUUID } from 'node:crypto';
import type { Tx } from '../db/client.ts';
import type { TransferKind } from '../generated/prisma/enums.ts';
import { InsufficientCreditsError, ValidationError } from '../errors.ts';
import { SYSTEM_ACCOUNTS } from './accounts.ts';

const SYSTEM_ACCOUNT_IDS: ReadonlySet<string> = new Set(Object.values(SYSTEM_ACCOUNTS));

export interface TransferInput {
  kind: TransferKind;
  amount: number;
  debitAccountId: string;
  creditAccountId: string;
  tenantId?: string | null;
  idempotencyKey?: string | null;
  reference?: string | null;
  note?: string | null;
  reversesId?: string | null;
  holdId?: string | null;
}

export interface TransferRecord {
  id: string;
  kind: TransferKind;
  amount: number;
  createdAt: Date;
}

/** Largest balance a tenant account may hold; its columns are 32-bit integers. */
export const MAX_BALANCE = 2_000_000_000;

export function assertAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new ValidationError('Amount must be a positive integer number of credits', 'amount');
  }
  if (amount > MAX_BALANCE) {
    throw new ValidationError(`Amount must be at most ${MAX_BALANCE}`, 'amount');
  }
}

/**
 * Moves `amount` posted credits from one account to another: the transfer,
 * its two entries and, for tenant accounts, the balance columns, all inside
 * the caller's transaction. A tenant debit is a conditional update
 * (`available >= amount`), never a read-then-write.
 */
export async function applyTransfer(tx: Tx, input: TransferInput): Promise<TransferRecord> {
  assertAmount(input.amount);
  const debitAfter = await moveTenantBalance(tx, input.debitAccountId, -input.amount);
  const creditAfter = await moveTenantBalance(tx, input.creditAccountId, input.amount);
  return insertTransfer(tx, input, debitAfter, creditAfter);
}

/** Writes the immutable transfer row and its two entries; balances are the caller's job. */
export async function insertTransfer(
  tx: Tx,
  input: TransferInput,
  debitAfter: number | null,
  creditAfter: number | null,
): Promise<TransferRecord> {
  const id = randomUUID();
  const transfer = await tx.transfer.create({
    data: {
      id,
      kind: input.kind,
      amount: input.amount,
      debitAccountId: input.debitAccountId,
      creditAccountId: input.creditAccountId,
      tenantId: input.tenantId ?? null,
      idempotencyKey: input.idempotencyKey ?? null,
      reference: input.reference ?? null,
      note: input.note ?? null,
      reversesId: input.reversesId ?? null,
      holdId: input.holdId ?? null,
    },
    select: { id: true, kind: true, amount: true, createdAt: true },
  });
  await tx.entry.createMany({
    data: [
      { transferId: id, accountId: input.debitAccountId, amount: -input.amount, balanceAfter: debitAfter, createdAt: transfer.createdAt },
      { transferId: id, accountId: input.creditAccountId, amount: input.amount, balanceAfter: creditAfter, createdAt: transfer.createdAt },
    ],
  });
  return transfer;
}

/**
 * Applies `delta` to a tenant account's available balance and returns its
 * posted balance (available + held) afterwards; returns null for system
 * accounts, which carry no balance columns.
 */
async function moveTenantBalance(tx: Tx, accountId: string, delta: number): Promise<number | null> {
  if (SYSTEM_ACCOUNT_IDS.has(accountId)) return null;
  const rows = await tx.$queryRaw<{ available: number; held: number }[]>`
    UPDATE account SET available = available + ${delta}
    WHERE id = ${accountId}::uuid AND kind = 'TENANT' AND available + ${delta} >= 0
      AND available + ${delta} <= ${MAX_BALANCE}
    RETURNING available, held`;
  const row = rows[0];
  if (row) return row.available + row.held;
  const account = await tx.account.findUniqueOrThrow({
    where: { id: accountId },
    select: { kind: true, available: true },
  });
  if (account.kind !== 'TENANT') return null;
  if (delta < 0) throw new InsufficientCreditsError(-delta, account.available);
  throw new ValidationError(`The balance would exceed ${MAX_BALANCE} credits`, 'amount');
}
