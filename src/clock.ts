// The API host's clock, behind one small object so tests can skew it (CLOCK_SKEW_MS).
//
// Which clock decides what (README "One clock"): every deadline is stamped and compared by the
// server that keeps it. Round ends, offer expiry and the dispatcher's next check are stamped with
// Postgres now() and compared in SQL; driver liveness, reservations and the claim record's offer
// expiry are stamped with Redis TIME inside the Lua scripts and compared there. This clock is
// only for what no deadline depends on: log lines, the `at` of pushed events, and judging a
// device's recordedAt (itself a device clock).
export interface Clock {
  now(): number;
  date(): Date;
}

export function createClock(skewMs = 0): Clock {
  return {
    now: () => Date.now() + skewMs,
    date: () => new Date(Date.now() + skewMs),
  };
}

/** setTimeout's longest delay; a timer for later than this is re-armed when it fires. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
