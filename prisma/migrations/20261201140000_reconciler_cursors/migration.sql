-- CreateTable
CREATE TABLE "reconciler_cursors" (
    "name" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reconciler_cursors_pkey" PRIMARY KEY ("name")
);
