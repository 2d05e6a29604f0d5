import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SimulatedClock } from './clock/simulated-clock.js';
import type { Store } from './store.js';

const VERSION = 1;

/** How long after a change the state is written: a checkout paid is several writes in a row. */
const SAVE_AFTER_MS = 200;

interface Snapshot {
  version: number;
  savedAt: string;
  clockOffsetSeconds: number;
  maps: Record<string, Array<[string, unknown]>>;
}

/**
 * The simulator's objects in a file, so that the built-in simulator of `npm start` keeps its
 * customers, products, prices, sessions and subscriptions across restarts, as the embedded
 * PostgreSQL keeps the ledger that refers to them. Written whole (a temporary file, then renamed)
 * shortly after each change the HTTP API or a page makes, and on close. Webhook deliveries still
 * pending are not kept: Tally's event reconciliation lists the events and catches up.
 */
export class StatePersistence {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly store: Store,
    private readonly clock: SimulatedClock,
  ) {}

  /** Loads the saved state, if there is one. */
  load(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const snapshot = JSON.parse(text) as Snapshot;
    if (snapshot.version !== VERSION) throw new Error(`${this.file} was written by another version of the simulator (${snapshot.version}); move it away to start afresh`);
    for (const [name, map] of this.maps()) {
      for (const [id, value] of snapshot.maps[name] ?? []) map.set(id, value);
    }
    this.clock.restore(snapshot.clockOffsetSeconds);
  }

  /** Saves soon, once for a burst of changes. */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.save(), SAVE_AFTER_MS);
    this.timer.unref();
  }

  save(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const snapshot: Snapshot = {
      version: VERSION,
      savedAt: new Date().toISOString(),
      clockOffsetSeconds: this.clock.offset,
      maps: Object.fromEntries([...this.maps()].map(([name, map]) => [name, [...map]])),
    };
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, JSON.stringify(snapshot), { mode: 0o600 });
    renameSync(temporary, this.file);
  }

  private *maps(): Generator<[string, Map<string, unknown>]> {
    for (const [name, value] of Object.entries(this.store)) {
      if (value instanceof Map) yield [name, value];
    }
  }
}
