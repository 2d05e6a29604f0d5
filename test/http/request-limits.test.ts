import t from 'tap';
import { connect } from 'node:net';
import { loadConfig } from '../../src/config.js';
import { build } from '../helper.js';

/**
 * Sends `text` as it is on a new connection, and resolves with what the server wrote once it closes
 * the connection: what Node refuses itself (before Fastify sees a request) is answered that way. A
 * connection still open after `giveUpMs` is closed here, and resolves with `open: true`.
 */
function sendRaw(base: string, text: string, giveUpMs = 30_000): Promise<{ status: number; body: string; open: boolean }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (received += chunk));
    let open = false;
    const giveUp = setTimeout(() => {
      open = true;
      socket.destroy();
    }, giveUpMs);
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(giveUp);
      const [head, body = ''] = received.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body, open });
    });
    socket.write(text);
  });
}

t.test('what Node refuses before routing (headers or URL too large, not HTTP) answers in the error shape', async (t) => {
  const ctx = await build(t, { listen: true });
  const cases: Array<[string, string, number, string]> = [
    ['headers over 16 KB', `GET /healthz HTTP/1.1\r\nHost: tally\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
    ['a URL over 16 KB', `GET /v1/accounts/acct_1/ledger?cursor=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: tally\r\n\r\n`, 431, 'headers_too_large'],
    ['a request line that is not HTTP', 'NOT HTTP AT ALL\r\n\r\n', 400, 'bad_request'],
  ];
  for (const [what, text, status, code] of cases) {
    const answer = await sendRaw(ctx.url!, text);
    t.equal(answer.status, status, what);
    t.match(JSON.parse(answer.body), { error: { code, message: String } }, `${what}: ${code} in the error shape`);
  }
});

t.test('a request that is not received in time (slow headers, a body that never comes) is a 408 and its connection is closed', async (t) => {
  // Without a limit, a client (anyone: the webhook needs no key) could hold connections open for ever.
  const ctx = await build(t, { listen: true, env: { REQUEST_TIMEOUT_MS: '1000' } });
  const cases: Array<[string, string]> = [
    ['headers that stop half way', 'POST /v1/webhooks/stripe HTTP/1.1\r\nHost: tally\r\nContent-Type: appli'],
    ['a body that stops half way', 'POST /v1/webhooks/stripe HTTP/1.1\r\nHost: tally\r\nContent-Type: application/json\r\nStripe-Signature: t=1,v1=0\r\nContent-Length: 100\r\n\r\n{"id":'],
  ];
  for (const [what, text] of cases) {
    const answer = await sendRaw(ctx.url!, text);
    t.notOk(answer.open, `${what}: the server closed the connection`);
    t.equal(answer.status, 408, what);
    t.match(JSON.parse(answer.body || '{}'), { error: { code: 'request_timeout', message: String } }, `${what}: in the error shape`);
  }
  const served = await fetch(`${ctx.url}/healthz`);
  t.equal(served.status, 200, 'and a request received in time is served');
});

t.test('REQUEST_TIMEOUT_MS is at least 1000', async (t) => {
  t.throws(() => loadConfig({ REQUEST_TIMEOUT_MS: '10' }), /REQUEST_TIMEOUT_MS/);
  t.equal(loadConfig({}).REQUEST_TIMEOUT_MS, 30_000, '30 s by default');
});
