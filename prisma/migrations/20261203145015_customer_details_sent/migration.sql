-- AlterTable
ALTER TABLE "accounts" ADD COLUMN     "stripe_customer_email" TEXT,
ADD COLUMN     "stripe_customer_name" TEXT;

-- Customers made before: taken as made with the account's details as they are now, so that this
-- change sends nothing for them until the account's email or name next changes.
UPDATE "accounts" SET "stripe_customer_email" = "email", "stripe_customer_name" = "name" WHERE "stripe_customer_id" IS NOT NULL;
