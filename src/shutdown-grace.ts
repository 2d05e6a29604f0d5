/**
 * How long a SIGTERM's shutdown may take before the process exits anyway, with code 1 (and a line
 * naming the step it was at). Whoever stops Tally must wait longer before its SIGKILL, or that line
 * is never written: docker-compose.yml's stop_grace_period (Docker's default is this same 10 s).
 */
export const SHUTDOWN_GRACE_MS = 10_000;
