// How long a driver's hold (a reservation or an assignment in Redis) may go without its row in
// Postgres. The ping path frees a hold older than HOLD_SETTLE_MS that Postgres has no offer or
// trip for, so whoever reserves a driver must have stored the offer well before that.

/** A reservation or assignment younger than this may not be in Postgres yet: never "corrected". */
export const HOLD_SETTLE_MS = 2_000;

/**
 * A pick is over once its first reservation is this old: no new Redis step starts, and replies
 * that have not come back by then are not waited for (whatever the command timeout), so what is
 * left of HOLD_SETTLE_MS is there for storing the offers.
 */
export const PICK_WITHIN_MS = HOLD_SETTLE_MS / 4;
