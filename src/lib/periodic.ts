/** Hears how each run of a periodic task ended (BackgroundFailures, for the tasks of the service). */
export interface RunReport {
  failed(error: unknown): void;
  succeeded?(): void;
}

/**
 * Runs `task` every `intervalMs`, never two at once (a tick that finds the last run unfinished is
 * skipped), without keeping the process alive. The first run comes `firstRunAfterMs` after the start
 * (one interval unless told). Each run's end goes to `report`; after a failure the next tick runs
 * again. Returns a stop that waits for a run in progress.
 */
export function startPeriodic(task: () => Promise<unknown>, intervalMs: number, report: RunReport, firstRunAfterMs = intervalMs): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = task()
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
    if (stopped) return;
    timer = setInterval(tick, intervalMs);
    timer.unref();
  }, firstRunAfterMs);
  first.unref();
  return async () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
    await running;
  };
}
