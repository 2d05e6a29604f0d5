/**
 * What a start has opened so far, and the signals that may stop it before it serves: closed in
 * reverse order if it stops before serving (a port in use, a failure, SIGTERM/SIGINT), so that an
 * embedded PostgreSQL is stopped rather than left running. Once serving, the graceful shutdown
 * (close-with-grace) closes them instead, on the same signals.
 */

/** A port Tally was told to listen on is taken: a configuration problem (exit 78), said in one line. */
export class PortInUseError extends Error {}

/** `error` as a PortInUseError naming `variable` when it is EADDRINUSE, else unchanged. */
export function portInUse(error: unknown, variable: string, port: number): unknown {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE') return error;
  return new PortInUseError(`${variable} ${port} is in use (EADDRINUSE): another process listens there; set ${variable} to a free port`);
}

/** 128 + the signal's number: the code a shell reports for a process that signal ended. */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT_CODES;
const SIGNALS = Object.keys(SIGNAL_EXIT_CODES) as StopSignal[];
/** How long a stop while starting waits for what the start opened to close before exiting anyway. */
const STOP_WHILE_STARTING_MS = 5_000;

export class StartGuard {
  private readonly opened: Array<() => unknown> = [];
  private stopping = false;

  /** Listens for SIGTERM/SIGINT from now on, until `serving`. */
  constructor() {
    for (const signal of SIGNALS) process.on(signal, this.stopWhileStarting);
  }

  /** A stop came while starting: the stop exits the process. */
  get stopped(): boolean {
    return this.stopping;
  }

  /** Something the start opened, closed (after what was opened later) if it stops before serving. */
  opens(close: () => unknown): void {
    this.opened.push(close);
  }

  /** Closes what the start opened, newest first; each failure is passed over. */
  async closeOpened(): Promise<void> {
    for (const close of this.opened.splice(0).reverse()) await Promise.resolve().then(close).catch(() => undefined);
  }

  /** Serving: the graceful shutdown takes over what was opened, and the signals. */
  serving(): void {
    this.opened.length = 0;
    for (const signal of SIGNALS) process.removeListener(signal, this.stopWhileStarting);
  }

  /**
   * SIGTERM/SIGINT before Tally serves (waiting for the database, migrating, setting up Stripe): close
   * what the start opened and exit with 143/130. Node as PID 1 (a container without an init) has no
   * default action for SIGTERM: without a handler, `docker stop` would wait its whole grace, then
   * SIGKILL. A second signal exits at once.
   */
  private readonly stopWhileStarting = (signal: StopSignal): void => {
    const code = SIGNAL_EXIT_CODES[signal];
    if (this.stopping) process.exit(code);
    this.stopping = true;
    process.stderr.write(`Tally stopped while starting (${signal}): it was not serving yet\n`);
    setTimeout(() => process.exit(code), STOP_WHILE_STARTING_MS);
    void this.closeOpened().finally(() => process.exit(code));
  };
}
