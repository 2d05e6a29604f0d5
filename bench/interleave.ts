/** One side of a comparison, measured in slices that alternate with the other side's. */
export interface Side<R> {
  label: string;
  /** Load that is not counted. */
  warmUp(seconds: number): Promise<void>;
  /** A counted slice; the side adds it to what it has measured so far. */
  measure(seconds: number): Promise<void>;
  result(): R;
}

export interface InterleaveOptions {
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  log(line: string): void;
}

/**
 * Measures two sides in alternating slices, A B B A A B ..., after a warm-up of each, so that both
 * see the same share of whatever else the (shared, noisy) machine is doing during the comparison.
 * Each side is measured for `seconds` in all, cut into slices of whole seconds.
 */
export async function interleave<A, B>(a: Side<A>, b: Side<B>, options: InterleaveOptions): Promise<[A, B]> {
  const { rounds, slice } = slicing(options.seconds, options.rounds);
  await a.warmUp(options.warmupSeconds);
  await b.warmUp(options.warmupSeconds);
  for (let round = 0; round < rounds; round++) {
    const [first, second] = round % 2 === 0 ? [a, b] : [b, a];
    await first.measure(slice);
    await second.measure(slice);
  }
  options.log(`  ${rounds} × ${slice} s each, alternating: ${a.label} | ${b.label}`);
  return [a.result(), b.result()];
}

/** The most rounds, up to `wanted`, that cut `seconds` into equal slices of 2 s or more. */
function slicing(seconds: number, wanted: number): { rounds: number; slice: number } {
  for (let rounds = Math.min(wanted, Math.floor(seconds / 2)); rounds > 1; rounds--) {
    if (Number.isInteger(seconds / rounds)) return { rounds, slice: seconds / rounds };
  }
  return { rounds: 1, slice: Math.max(1, Math.round(seconds)) };
}
