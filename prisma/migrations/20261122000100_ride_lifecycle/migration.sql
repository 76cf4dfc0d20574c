-- Offer rounds and the durable round timer: every SEARCHING ride carries the time a dispatcher
-- must next look at it; instances poll it with FOR UPDATE SKIP LOCKED, so a ride whose
-- instance died is carried on by another.

-- AlterTable
ALTER TABLE "Ride" ADD COLUMN "round" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "roundEndsAt" TIMESTAMPTZ(3),
ADD COLUMN "nextCheckAt" TIMESTAMPTZ(3),
ADD COLUMN "endReason" TEXT;

-- CreateTable
CREATE TABLE "RideEvent" (
    "id" BIGSERIAL NOT NULL,
    "rideId" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "round" INTEGER,
    "driverId" TEXT,
    "detail" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RideEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RideEvent_rideId_at_idx" ON "RideEvent"("rideId", "at");

-- The dispatcher's work queue: only rides that still need attention are in this index.
CREATE INDEX "Ride_due_idx" ON "Ride"("nextCheckAt") WHERE "nextCheckAt" IS NOT NULL;

-- AddForeignKey
ALTER TABLE "RideEvent" ADD CONSTRAINT "RideEvent_rideId_fkey" FOREIGN KEY ("rideId") REFERENCES "Ride"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- No ride can sit in SEARCHING without a time a dispatcher must look at it again.
UPDATE "Ride" SET "nextCheckAt" = CURRENT_TIMESTAMP WHERE "status" = 'SEARCHING';
ALTER TABLE "Ride" ADD CONSTRAINT "Ride_searching_is_scheduled" CHECK ("status" <> 'SEARCHING' OR "nextCheckAt" IS NOT NULL);
