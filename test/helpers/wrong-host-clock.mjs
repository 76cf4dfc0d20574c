// Preloaded into a server process (node --import) to give it a wrong host clock: Date.now() and
// new Date() are HOST_CLOCK_SKEW_MS off, as on a host whose NTP failed. Redis TIME and Postgres
// now() stay right, as they would.
const skewMs = Number(process.env.HOST_CLOCK_SKEW_MS ?? 0);
const RealDate = Date;
const realNow = RealDate.now;
class SkewedDate extends RealDate {
  constructor(...args) {
    super(...(args.length === 0 ? [realNow() + skewMs] : args));
  }
  static now() {
    return realNow() + skewMs;
  }
}
globalThis.Date = SkewedDate;
