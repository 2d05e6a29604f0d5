-- CreateTable
CREATE TABLE "stripe_key_attempts" (
    "key" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_key_attempts_pkey" PRIMARY KEY ("key")
);
