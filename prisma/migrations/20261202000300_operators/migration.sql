-- Operators: suspending drivers, an audit log of every admin change, and the indexes the
-- admin lists and the matching analytics read by.

-- AlterTable
ALTER TABLE "Driver" ADD COLUMN "suspendedAt" TIMESTAMPTZ(3),
ADD COLUMN "suspendReason" TEXT;

-- CreateTable
CREATE TABLE "AdminAudit" (
    "id" BIGSERIAL NOT NULL,
    "adminId" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AdminAudit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AdminAudit_target_id_idx" ON "AdminAudit"("target", "id");

-- The admin's ride list: newest first, optionally one rider's or one driver's.
CREATE INDEX "Ride_requestedAt_id_idx" ON "Ride"("requestedAt", "id");
CREATE INDEX "Ride_riderId_requestedAt_idx" ON "Ride"("riderId", "requestedAt");
CREATE INDEX "Ride_driverId_requestedAt_idx" ON "Ride"("driverId", "requestedAt");

-- Analytics over a time window (and a region): history by type and time; rides by region.
CREATE INDEX "RideEvent_type_at_idx" ON "RideEvent"("type", "at");
CREATE INDEX "Ride_pickupRegion_requestedAt_idx" ON "Ride"("pickupRegion", "requestedAt");
