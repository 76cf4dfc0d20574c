-- Facing the public internet: a rider has at most one live ride, and a retried requestRide
-- (same client key) returns the ride it created instead of creating a second one.

-- AlterTable
ALTER TABLE "Ride" ADD COLUMN "requestKey" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Ride_riderId_requestKey_key" ON "Ride"("riderId", "requestKey");

-- Riders who already hold several live rides keep the newest; the others end CANCELLED.
UPDATE "Ride" r SET "status" = 'CANCELLED', "endedAt" = CURRENT_TIMESTAMP, "nextCheckAt" = NULL,
       "endReason" = 'superseded: one live ride per rider', "version" = r."version" + 1, "updatedAt" = CURRENT_TIMESTAMP
 WHERE r."status" IN ('SEARCHING', 'ASSIGNED')
   AND EXISTS (SELECT 1 FROM "Ride" n WHERE n."riderId" = r."riderId" AND n."status" IN ('SEARCHING', 'ASSIGNED')
                  AND (n."requestedAt", n.id) > (r."requestedAt", r.id));

-- A rider has at most one live ride (the database, not the application, guarantees it).
CREATE UNIQUE INDEX "Ride_one_live_ride_per_rider" ON "Ride"("riderId") WHERE "status" IN ('SEARCHING', 'ASSIGNED');
