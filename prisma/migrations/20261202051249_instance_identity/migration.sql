-- CreateTable
CREATE TABLE "instance_identity" (
    "singleton" BOOLEAN NOT NULL DEFAULT true,
    "id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "instance_identity_pkey" PRIMARY KEY ("singleton"),
    -- One row: Tally writes it on its first start (src/db/instance-identity.ts).
    CONSTRAINT "instance_identity_one_row" CHECK ("singleton")
);
