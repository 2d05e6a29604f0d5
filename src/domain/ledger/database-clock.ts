import { performance } from 'node:perf_hooks';

/**
 * The database's clock as this process last read it. A batch that loads its accounts decides on the
 * database's clock (the load reads it); a batch decided on kept states has no load, and reads this,
 * so that both judge an expiry alike however far this host's clock is off, or jumps: a kept state's
 * grant is never spent past the expiry a balance read (on the database's clock) already counts.
 *
 * The reading is the database's time at the last load, plus the time elapsed since on a monotonic
 * clock (which a change of the host's clock does not move). A load may wait on the accounts' locks
 * (up to DATABASE_TIMEOUT_MS) before it reads the clock, so the reading is not placed at the middle
 * of the round trip: as NTP does, the database's own time between the trip's arrival and the reading
 * is taken out, and what is left of the round trip (the network both ways) is split evenly. Off by
 * at most half of that, however long the locks were waited for; far inside EXPIRY_MARGIN_MS.
 */
export class DatabaseClock {
  private offsetMs = Date.now() - performance.now();

  /**
   * Called as a load is sent; the function it returns is called with the database's clock as the trip
   * reached it (its transaction's start) and as the load read it.
   */
  startReading(): (arrived: Date, read: Date) => void {
    const sentAt = performance.now();
    return (arrived, read) => {
      const receivedAt = performance.now();
      this.offsetMs = (arrived.getTime() - sentAt + (read.getTime() - receivedAt)) / 2;
    };
  }

  now(): Date {
    return new Date(performance.now() + this.offsetMs);
  }
}
