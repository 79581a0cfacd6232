-- CreateEnum
CREATE TYPE "ApiKeyScope" AS ENUM ('GENERATE', 'READ', 'MANAGE_KEYS', 'WEBHOOKS');

-- AlterTable
ALTER TABLE "api_key" ADD COLUMN     "expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "rotated_from_id" UUID,
ADD COLUMN     "scopes" "ApiKeyScope"[] DEFAULT ARRAY['GENERATE', 'READ', 'MANAGE_KEYS', 'WEBHOOKS']::"ApiKeyScope"[];

-- CreateIndex
CREATE UNIQUE INDEX "api_key_rotated_from_id_key" ON "api_key"("rotated_from_id");

-- AddForeignKey
ALTER TABLE "api_key" ADD CONSTRAINT "api_key_rotated_from_id_fkey" FOREIGN KEY ("rotated_from_id") REFERENCES "api_key"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
