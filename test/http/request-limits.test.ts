import t from 'tap';
import { connect } from 'node:net';
import { build } from '../helper.js';

/**
 * Sends `text` as it is on a new connection, and resolves with what the server wrote once it closes
 * the connection: what Node refuses itself (before Fastify sees a request) is answered that way.
 */
function sendRaw(base: string, text: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, body = ''] = received.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body });
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
