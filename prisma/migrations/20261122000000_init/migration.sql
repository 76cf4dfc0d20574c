-- CreateEnum
CREATE TYPE "CarType" AS ENUM ('ECONOMY', 'COMFORT', 'PREMIUM', 'XL');

-- CreateEnum
CREATE TYPE "PaymentPreference" AS ENUM ('CASH', 'CARD', 'ANY');

-- CreateEnum
CREATE TYPE "PaymentMethod" AS ENUM ('CASH', 'CARD');

-- CreateEnum
CREATE TYPE "DriverDuty" AS ENUM ('AVAILABLE', 'OFFLINE');

-- CreateEnum
CREATE TYPE "RideStatus" AS ENUM ('SEARCHING', 'ASSIGNED', 'CANCELLED', 'NO_DRIVERS_AVAILABLE', 'COMPLETED');

-- CreateEnum
CREATE TYPE "OfferStatus" AS ENUM ('OFFERED', 'ACCEPTED', 'DECLINED', 'EXPIRED', 'REVOKED');

-- CreateTable
CREATE TABLE "Driver" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "carType" "CarType" NOT NULL,
    "paymentPreference" "PaymentPreference" NOT NULL,
    "rating" DOUBLE PRECISION NOT NULL,
    "vehicle" TEXT NOT NULL,
    "duty" "DriverDuty" NOT NULL DEFAULT 'AVAILABLE',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Driver_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Driver_rating_range" CHECK ("rating" >= 0 AND "rating" <= 5)
);

-- CreateTable
CREATE TABLE "Rider" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Rider_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Ride" (
    "id" UUID NOT NULL,
    "riderId" TEXT NOT NULL,
    "pickupLat" DOUBLE PRECISION NOT NULL,
    "pickupLng" DOUBLE PRECISION NOT NULL,
    "dropoffLat" DOUBLE PRECISION NOT NULL,
    "dropoffLng" DOUBLE PRECISION NOT NULL,
    "carType" "CarType" NOT NULL,
    "paymentMethod" "PaymentMethod" NOT NULL,
    "minDriverRating" DOUBLE PRECISION,
    "status" "RideStatus" NOT NULL DEFAULT 'SEARCHING',
    "driverId" TEXT,
    "version" INTEGER NOT NULL DEFAULT 0,
    "requestedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "assignedAt" TIMESTAMPTZ(3),
    "endedAt" TIMESTAMPTZ(3),
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Ride_pkey" PRIMARY KEY ("id"),
    -- An ASSIGNED ride always names its driver.
    CONSTRAINT "Ride_assigned_has_driver" CHECK ("status" <> 'ASSIGNED' OR "driverId" IS NOT NULL)
);

-- CreateTable
CREATE TABLE "RideOffer" (
    "id" UUID NOT NULL,
    "rideId" UUID NOT NULL,
    "driverId" TEXT NOT NULL,
    "round" INTEGER NOT NULL,
    "status" "OfferStatus" NOT NULL DEFAULT 'OFFERED',
    "pickupDistanceKm" DOUBLE PRECISION NOT NULL,
    "sentAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "respondedAt" TIMESTAMPTZ(3),

    CONSTRAINT "RideOffer_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Ride_riderId_idx" ON "Ride"("riderId");

-- CreateIndex
CREATE INDEX "Ride_driverId_idx" ON "Ride"("driverId");

-- CreateIndex
CREATE UNIQUE INDEX "RideOffer_rideId_driverId_key" ON "RideOffer"("rideId", "driverId");

-- CreateIndex
CREATE INDEX "RideOffer_driverId_status_idx" ON "RideOffer"("driverId", "status");

-- A driver has at most one active ride (the database, not the application, guarantees it).
CREATE UNIQUE INDEX "Ride_one_active_ride_per_driver" ON "Ride"("driverId") WHERE "status" = 'ASSIGNED';

-- A ride has at most one accepted offer (mirrors the single driverId column on Ride).
CREATE UNIQUE INDEX "RideOffer_one_accepted_per_ride" ON "RideOffer"("rideId") WHERE "status" = 'ACCEPTED';

-- AddForeignKey
ALTER TABLE "Ride" ADD CONSTRAINT "Ride_riderId_fkey" FOREIGN KEY ("riderId") REFERENCES "Rider"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Ride" ADD CONSTRAINT "Ride_driverId_fkey" FOREIGN KEY ("driverId") REFERENCES "Driver"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RideOffer" ADD CONSTRAINT "RideOffer_rideId_fkey" FOREIGN KEY ("rideId") REFERENCES "Ride"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RideOffer" ADD CONSTRAINT "RideOffer_driverId_fkey" FOREIGN KEY ("driverId") REFERENCES "Driver"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
