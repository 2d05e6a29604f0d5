import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SHUTDOWN_GRACE_MS } from '../../src/shutdown-grace.js';
import { ROOT } from './process.js';

/** Compose's duration syntax as far as this file uses it: 15s, 1m30s. */
function seconds(duration: string): number {
  const match = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!match || duration === '') throw new Error(`not a duration this test reads: ${duration}`);
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

t.test("docker-compose.yml waits longer than Tally's own shutdown grace before its SIGKILL", async (t) => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
  const grace = compose.services.tally.stop_grace_period;
  t.ok(grace, "stop_grace_period is set (Docker's default, 10 s, is no longer than Tally's)");
  t.ok(seconds(String(grace)) * 1000 > SHUTDOWN_GRACE_MS, `${grace} is longer than ${SHUTDOWN_GRACE_MS} ms`);
  t.equal(seconds('1m30s'), 90);
  t.throws(() => seconds('15'), /not a duration/);
});

t.test('docker-compose.yml runs Tally under an init, which passes SIGTERM on (node as PID 1 has no default action for it)', async (t) => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
  t.equal(compose.services.tally.init, true);
});
