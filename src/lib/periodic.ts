/** Hears how each run of a periodic task ended (BackgroundFailures, for the tasks of the service). */
export interface RunReport {
  failed(error: unknown): void;
  succeeded?(): void;
}

/**
 * Runs `task` every `intervalMs`, never two at once (a tick that finds the last run unfinished is
 * skipped), without keeping the process alive. The first run comes `firstRunAfterMs` after the start
 * (one interval unless told). Each run's end goes to `report`; after a failure the next tick runs
 * again. Returns a stop that aborts `stopping` and waits for a run in progress: a task that works
 * through many items (each a call to Stripe, say) looks at it between them, so that a shutdown waits
 * for the item in hand, not the whole run (close-with-grace gives up after 10 s).
 */
export function startPeriodic(task: (stopping: AbortSignal) => Promise<unknown>, intervalMs: number, report: RunReport, firstRunAfterMs = intervalMs): () => Promise<void> {
  let running: Promise<void> | undefined;
  const stopping = new AbortController();
  const tick = () => {
    if (running || stopping.signal.aborted) return;
    running = task(stopping.signal)
      .then(
        () => report.succeeded?.(),
        (error: unknown) => report.failed(error),
      )
      .finally(() => {
        running = undefined;
      });
  };
  let timer: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    tick();
    if (stopping.signal.aborted) return;
    timer = setInterval(tick, intervalMs);
    timer.unref();
  }, firstRunAfterMs);
  first.unref();
  return async () => {
    stopping.abort();
    clearTimeout(first);
    clearInterval(timer);
    await running;
  };
}
