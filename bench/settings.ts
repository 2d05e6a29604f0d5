export const SCENARIO_NAMES = ['spend', 'hot', 'balance', 'holds', 'webhooks'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Settings {
  /** Measured seconds of each load run (BENCH_SECONDS). */
  seconds: number;
  /** Seconds of load before each measured run, not counted (BENCH_WARMUP_SECONDS). */
  warmupSeconds: number;
  /** Slices each comparison is cut into, alternating Tally and its baseline (BENCH_ROUNDS). */
  rounds: number;
  scenarios: ScenarioName[];
  /** An existing PostgreSQL (DATABASE_URL); absent: an embedded one, thrown away at the end. */
  databaseUrl?: string;
  /** Extra node flags for the Tally process, e.g. "--cpu-prof --cpu-prof-dir=bench/profiles". */
  tallyNodeArgs: string[];
  /** pgbench to use instead of the one found on PATH (BENCH_PGBENCH). */
  pgbench?: string;
  /** wrk to use instead of the one found on PATH (BENCH_WRK). */
  wrk?: string;
  /** Where the .pgbench files and baseline-schema.sql are (BENCH_BASELINE_DIR). */
  baselineDir?: string;
}

export class SettingsError extends Error {}

/** Reads the BENCH_* variables (and DATABASE_URL) once; a wrong value names the variable. */
export function readSettings(env: Record<string, string | undefined> = process.env): Settings {
  const scenarios = (env.BENCH_SCENARIOS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = scenarios.filter((s) => !(SCENARIO_NAMES as readonly string[]).includes(s));
  if (unknown.length) throw new SettingsError(`BENCH_SCENARIOS: unknown ${unknown.join(', ')} (known: ${SCENARIO_NAMES.join(', ')})`);
  return {
    seconds: positiveNumber(env, 'BENCH_SECONDS', 20),
    warmupSeconds: positiveNumber(env, 'BENCH_WARMUP_SECONDS', 3),
    rounds: Math.round(positiveNumber(env, 'BENCH_ROUNDS', 4)),
    // Always in the documented order: scenarios run one after another, never together.
    scenarios: scenarios.length ? SCENARIO_NAMES.filter((name) => scenarios.includes(name)) : [...SCENARIO_NAMES],
    databaseUrl: env.DATABASE_URL || undefined,
    // Tally's own runtime flags (npm start and the Dockerfile use the same), then any extra ones.
    tallyNodeArgs: [...RUNTIME_NODE_FLAGS, ...(env.BENCH_TALLY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)],
    pgbench: env.BENCH_PGBENCH || undefined,
    wrk: env.BENCH_WRK || undefined,
    baselineDir: env.BENCH_BASELINE_DIR || undefined,
  };
}

function positiveNumber(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 3600) throw new SettingsError(`${name}: a number above 0, at most 3600 (got ${JSON.stringify(raw)})`);
  return value;
}

/**
 * The V8 flags Tally runs with (package.json "start", Dockerfile CMD). The old generation is capped:
 * V8 otherwise lets it grow, with garbage, toward its cap (at 128 MB, 186-195 MB resident after 20 s
 * runs; at 96 MB, 147-159 MB). The young generation is 8 MB a semi-space: at 2 MB it was swept every
 * few milliseconds, so the objects of requests still in flight were promoted, and the old generation
 * then filled and was marked about twice a second, with pauses of up to 9 ms (--trace-gc). At 8 MB,
 * same-run A/B on spends: +6% req/s, p99 14.6 -> 12.1 ms, for about 20 MB more resident.
 */
export const RUNTIME_NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=96'];

/**
 * The environment Tally runs with (package.json "start", Dockerfile ENV): glibc's malloc otherwise
 * gives each of Node's threads an arena of its own that keeps what it freed. Full runs peaked at
 * 195-202 MB without it and at 156 MB with two arenas; as load grew, two arenas reached 199 MB. One
 * arena: peaks of 162-165 MB against 171-175 MB in alternating runs of spends and holds, and in a
 * same-run A/B 1.04x req/s and 161 against 164 MB (2026-12-01).
 */
export const RUNTIME_ENV = { MALLOC_ARENA_MAX: '1' };
