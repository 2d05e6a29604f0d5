/**
 * Runs `send` over every item with at most `concurrency` in flight: a fixed amount of work, each
 * item once, answered before this resolves (unlike a timed autocannon run, which abandons the last).
 */
export async function sendConcurrently<T>(items: T[], concurrency: number, send: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await send(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
