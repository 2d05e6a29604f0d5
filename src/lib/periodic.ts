/**
 * Runs `task` every `intervalMs`, never two at once (a tick that finds the last run unfinished is
 * skipped), without keeping the process alive. A failure goes to `onError`; the next tick runs
 * again. Returns a stop that waits for a run in progress.
 */
export function startPeriodic(task: () => Promise<void>, intervalMs: number, onError: (error: unknown) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = task()
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
