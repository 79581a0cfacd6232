-- Reconciliation (src/tasks/reconcile.ts): what upstream said when a task that
-- ended was read again, and whether its late refund was mirrored.
CREATE TABLE "task_reconciliation" (
    "task_id" UUID NOT NULL,
    "checks" INTEGER NOT NULL DEFAULT 0,
    "last_checked_at" TIMESTAMPTZ(3),
    "lease_until" TIMESTAMPTZ(3),
    "upstream_status" TEXT,
    "upstream_credits" INTEGER,
    "drift" INTEGER NOT NULL DEFAULT 0,
    "mismatch_at" TIMESTAMPTZ(3),
    "corrected_at" TIMESTAMPTZ(3),

    CONSTRAINT "task_reconciliation_pkey" PRIMARY KEY ("task_id"),
    -- A correction is always of a mismatch that was recorded first.
    CONSTRAINT "task_reconciliation_corrected_after_mismatch" CHECK ("corrected_at" IS NULL OR "mismatch_at" IS NOT NULL)
);

CREATE INDEX "task_reconciliation_last_checked_at_idx" ON "task_reconciliation"("last_checked_at");

ALTER TABLE "task_reconciliation" ADD CONSTRAINT "task_reconciliation_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "task"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Reconciliation picks tasks by when they ended; the report selects them so too.
CREATE INDEX "task_completed_at_idx" ON "task"("completed_at");
