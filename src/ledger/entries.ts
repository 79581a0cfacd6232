import type { Db, Tx } from '../db/client.ts';
import type { TransferKind } from '../generated/prisma/enums.ts';

/** One line of a tenant's statement: a transfer seen from the tenant's account. */
export interface LedgerEntryView {
  id: bigint;
  kind: TransferKind;
  /** Signed: positive when credits came in. */
  amount: number;
  /** The tenant's posted balance (available + held) after this entry. */
  balanceAfter: number;
  note: string | null;
  createdAt: Date;
}

const entrySelect = {
  id: true,
  amount: true,
  balanceAfter: true,
  createdAt: true,
  transfer: { select: { kind: true, note: true } },
} as const;

type EntryRow = {
  id: bigint;
  amount: number;
  balanceAfter: number | null;
  createdAt: Date;
  transfer: { kind: TransferKind; note: string | null };
};

function toView(row: EntryRow): LedgerEntryView {
  return {
    id: row.id,
    kind: row.transfer.kind,
    amount: row.amount,
    balanceAfter: row.balanceAfter ?? 0,
    note: row.transfer.note,
    createdAt: row.createdAt,
  };
}

/** The tenant's entry for a transfer it took part in. */
export async function tenantEntryForTransfer(
  db: Db | Tx,
  tenantId: string,
  transferId: string,
): Promise<LedgerEntryView> {
  const row = await db.entry.findFirstOrThrow({
    where: { transferId, account: { tenantId } },
    select: entrySelect,
  });
  return toView(row);
}

/**
 * A page of the tenant's entries, newest first, keyset-paginated on the
 * entry id (ids grow in commit order per account: see the ledger README).
 */
export async function listTenantEntries(
  db: Db | Tx,
  tenantId: string,
  page: { take: number; beforeId?: bigint },
): Promise<LedgerEntryView[]> {
  const rows = await db.entry.findMany({
    // Without beforeId, `lt: undefined` is no condition (Prisma drops undefined): the first page.
    where: { account: { tenantId }, id: { lt: page.beforeId } },
    orderBy: { id: 'desc' },
    take: page.take,
    select: entrySelect,
  });
  return rows.map(toView);
}

/** How many entries the tenant's statement holds (`ledgerEntries.totalCount`). */
export function countTenantEntries(db: Db | Tx, tenantId: string): Promise<number> {
  return db.entry.count({ where: { account: { tenantId } } });
}

/**
 * One statement line by entry id: of `tenantId`'s account, or with null of
 * any tenant's account (never a system account's); null when there is none.
 */
export async function findTenantEntry(db: Db | Tx, entryId: bigint, tenantId: string | null): Promise<LedgerEntryView | null> {
  const row = await db.entry.findFirst({
    where: { id: entryId, account: tenantId === null ? { tenantId: { not: null } } : { tenantId } },
    select: entrySelect,
  });
  return row ? toView(row) : null;
}
