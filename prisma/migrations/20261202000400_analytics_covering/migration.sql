-- Matching analytics (src/admin/analytics.ts) fold each ride's history and offers into one row.
-- The two indexes they read by now carry the column they filter on, so those reads are index-only
-- scans instead of one heap visit per history row. Same names and keys as before: every other
-- reader is served as it was, and no write gains an index (status updates of an offer were never
-- HOT, RideOffer(driverId, status) already indexes it).
DROP INDEX "RideEvent_rideId_at_idx";
CREATE INDEX "RideEvent_rideId_at_idx" ON "RideEvent"("rideId", "at") INCLUDE ("type");

DROP INDEX "RideOffer_rideId_driverId_key";
CREATE UNIQUE INDEX "RideOffer_rideId_driverId_key" ON "RideOffer"("rideId", "driverId") INCLUDE ("status");
