/**
 * Runs `task` every `intervalMs`, never two at once (a tick that finds the last run unfinished is
 * skipped), without keeping the process alive. The first run comes `firstRunAfterMs` after the start
 * (one interval unless told). A failure goes to `onError`; the next tick runs again. Returns a stop
 * that waits for a run in progress.
 */
export function startPeriodic(task: () => Promise<void>, intervalMs: number, onError: (error: unknown) => void, firstRunAfterMs = intervalMs): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = task()
      .catch(onError)
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
