/** Wall-clock time plus an offset that only ever grows, in unix seconds. */
export class SimulatedClock {
  private offsetSeconds = 0;

  /** How far ahead of the wall clock it is: kept across restarts (StatePersistence). */
  get offset(): number {
    return this.offsetSeconds;
  }

  restore(offsetSeconds: number): void {
    this.offsetSeconds = Math.max(this.offsetSeconds, offsetSeconds);
  }

  now(): number {
    return Math.floor(Date.now() / 1000) + this.offsetSeconds;
  }

  /** Moves to `time` if it is later; the simulated clock never goes back. */
  moveTo(time: number): void {
    const current = this.now();
    if (time > current) this.offsetSeconds += time - current;
  }
}
