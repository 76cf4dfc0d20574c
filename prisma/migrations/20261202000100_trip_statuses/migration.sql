-- The rider's journey: a ride can be booked ahead (SCHEDULED) and, once assigned, goes through
-- DRIVER_ARRIVED and IN_PROGRESS before COMPLETED. (New enum values cannot be used in the
-- transaction that adds them: the indexes and checks that need them are in the next migration.)
ALTER TYPE "RideStatus" ADD VALUE IF NOT EXISTS 'SCHEDULED';
ALTER TYPE "RideStatus" ADD VALUE IF NOT EXISTS 'DRIVER_ARRIVED';
ALTER TYPE "RideStatus" ADD VALUE IF NOT EXISTS 'IN_PROGRESS';
