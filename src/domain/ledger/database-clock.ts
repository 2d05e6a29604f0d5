import { performance } from 'node:perf_hooks';

/**
 * The database's clock as this process last read it. A batch that loads its accounts decides on the
 * database's clock (the load reads it); a batch decided on kept states has no load, and reads this,
 * so that both judge an expiry alike however far this host's clock is off, or jumps: a kept state's
 * grant is never spent past the expiry a balance read (on the database's clock) already counts.
 *
 * The reading is the database's time at the last load, taken at the middle of its round trip, plus
 * the time elapsed since on a monotonic clock (which a change of the host's clock does not move): off
 * by at most half that round trip (under DATABASE_TIMEOUT_MS), far inside EXPIRY_MARGIN_MS.
 */
export class DatabaseClock {
  private offsetMs = Date.now() - performance.now();

  /** Called as a load is sent; the function it returns is called with the database's clock as the load found it. */
  startReading(): (databaseNow: Date) => void {
    const sentAt = performance.now();
    return (databaseNow) => {
      this.offsetMs = databaseNow.getTime() - (sentAt + performance.now()) / 2;
    };
  }

  now(): Date {
    return new Date(performance.now() + this.offsetMs);
  }
}
