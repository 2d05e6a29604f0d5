/**
 * Runs `run` while this process's clock reads `seconds` ahead, as after a jump of the host's clock
 * (corrected since) or on a host whose clock runs ahead of Stripe's. The in-process simulator reads
 * the same clock meanwhile, so nothing should be made at Stripe inside `run`.
 */
export async function withClockAhead<T>(seconds: number, run: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => realNow() + seconds * 1000;
  try {
    return await run();
  } finally {
    Date.now = realNow;
  }
}
