-- AlterTable
ALTER TABLE "account" ADD COLUMN     "low_balance_threshold" INTEGER;

ALTER TABLE "account" ADD CONSTRAINT "account_low_balance_threshold_nonneg" CHECK ("low_balance_threshold" >= 0);
