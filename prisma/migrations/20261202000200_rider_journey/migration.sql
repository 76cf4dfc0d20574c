-- The rider's journey: tariffs and fare estimates (money in integer minor units), the quote a
-- ride was requested with, scheduled rides, the trip's steps and its final fare, and the pickup's
-- H3 cell and region (surge demand and analytics).

-- CreateTable
CREATE TABLE "Tariff" (
    "carType" "CarType" NOT NULL,
    "currency" TEXT NOT NULL,
    "baseFare" INTEGER NOT NULL,
    "perKm" INTEGER NOT NULL,
    "perMinute" INTEGER NOT NULL,
    "minimumFare" INTEGER NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedBy" TEXT,

    CONSTRAINT "Tariff_pkey" PRIMARY KEY ("carType"),
    CONSTRAINT "Tariff_amounts" CHECK ("baseFare" >= 0 AND "perKm" >= 0 AND "perMinute" >= 0 AND "minimumFare" >= 0),
    CONSTRAINT "Tariff_currency" CHECK ("currency" ~ '^[A-Z]{3}$')
);

-- Sensible defaults (Indian rupees, in paise): an admin changes them with setTariff.
INSERT INTO "Tariff" ("carType", "currency", "baseFare", "perKm", "perMinute", "minimumFare") VALUES
    ('ECONOMY', 'INR', 4000, 1200, 150, 6000),
    ('COMFORT', 'INR', 5500, 1600, 200, 8000),
    ('PREMIUM', 'INR', 8000, 2400, 300, 12000),
    ('XL', 'INR', 7000, 2000, 250, 10000);

-- CreateTable
CREATE TABLE "FareEstimate" (
    "id" UUID NOT NULL,
    "riderId" TEXT NOT NULL,
    "carType" "CarType" NOT NULL,
    "pickupLat" DOUBLE PRECISION NOT NULL,
    "pickupLng" DOUBLE PRECISION NOT NULL,
    "dropoffLat" DOUBLE PRECISION NOT NULL,
    "dropoffLng" DOUBLE PRECISION NOT NULL,
    "distanceKm" DOUBLE PRECISION NOT NULL,
    "durationMin" DOUBLE PRECISION NOT NULL,
    "baseFare" INTEGER NOT NULL,
    "distanceFare" INTEGER NOT NULL,
    "timeFare" INTEGER NOT NULL,
    "surgeMultiplier" DOUBLE PRECISION NOT NULL,
    "total" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "FareEstimate_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "FareEstimate_riderId_createdAt_idx" ON "FareEstimate"("riderId", "createdAt");

-- AddForeignKey
ALTER TABLE "FareEstimate" ADD CONSTRAINT "FareEstimate_riderId_fkey" FOREIGN KEY ("riderId") REFERENCES "Rider"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable
ALTER TABLE "Ride" ADD COLUMN "pickupCell" TEXT,
ADD COLUMN "pickupRegion" TEXT,
ADD COLUMN "estimateId" UUID,
ADD COLUMN "quotedTotal" INTEGER,
ADD COLUMN "currency" TEXT,
ADD COLUMN "surgeMultiplier" DOUBLE PRECISION,
ADD COLUMN "scheduledAt" TIMESTAMPTZ(3),
ADD COLUMN "dispatchedAt" TIMESTAMPTZ(3),
ADD COLUMN "arrivedAt" TIMESTAMPTZ(3),
ADD COLUMN "startedAt" TIMESTAMPTZ(3),
ADD COLUMN "travelledKm" DOUBLE PRECISION,
ADD COLUMN "tripMinutes" DOUBLE PRECISION,
ADD COLUMN "finalFare" INTEGER;

-- AddForeignKey
ALTER TABLE "Ride" ADD CONSTRAINT "Ride_estimateId_fkey" FOREIGN KEY ("estimateId") REFERENCES "FareEstimate"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Demand for surge: rides requested lately around a cell.
CREATE INDEX "Ride_pickupCell_requestedAt_idx" ON "Ride"("pickupCell", "requestedAt");

-- The trip now has three steps: ASSIGNED, DRIVER_ARRIVED, IN_PROGRESS.
ALTER TABLE "Ride" DROP CONSTRAINT "Ride_assigned_has_driver";
ALTER TABLE "Ride" ADD CONSTRAINT "Ride_trip_has_driver" CHECK ("status" NOT IN ('ASSIGNED', 'DRIVER_ARRIVED', 'IN_PROGRESS') OR "driverId" IS NOT NULL);
DROP INDEX "Ride_one_active_ride_per_driver";
CREATE UNIQUE INDEX "Ride_one_active_ride_per_driver" ON "Ride"("driverId") WHERE "status" IN ('ASSIGNED', 'DRIVER_ARRIVED', 'IN_PROGRESS');

-- One live ride per rider, a scheduled one included (the stated policy: see README).
DROP INDEX "Ride_one_live_ride_per_rider";
CREATE UNIQUE INDEX "Ride_one_live_ride_per_rider" ON "Ride"("riderId") WHERE "status" IN ('SCHEDULED', 'SEARCHING', 'ASSIGNED', 'DRIVER_ARRIVED', 'IN_PROGRESS');

-- A scheduled ride always knows when and when its dispatch starts.
ALTER TABLE "Ride" ADD CONSTRAINT "Ride_scheduled_is_scheduled" CHECK ("status" <> 'SCHEDULED' OR ("scheduledAt" IS NOT NULL AND "nextCheckAt" IS NOT NULL));
