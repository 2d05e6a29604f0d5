import { networkInterfaces } from 'node:os';
import t from 'tap';
import { createTestDatabase } from '../database.js';
import { ADMIN_KEY, serverUrl } from '../helper.js';
import { startTally } from './process.js';

const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

/** An address of this machine other than loopback, as another machine (or the host of a container) reaches it. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;

/** Opens a checkout of a new pack on a running Tally; its page's URL. */
async function checkoutPage(url: string): Promise<URL> {
  await fetch(`${url}/v1/accounts/acct_page`, { method: 'PUT', headers, body: '{}' });
  const pack = await (await fetch(`${url}/v1/packs`, { method: 'POST', headers, body: JSON.stringify({ name: 'Page', credits: 10, unitAmount: 500, currency: 'usd' }) })).json();
  const session = await (await fetch(`${url}/v1/checkout/sessions`, { method: 'POST', headers, body: JSON.stringify({ accountId: 'acct_page', packId: pack.id }) })).json();
  return new URL(session.url);
}

const reachable = (url: URL) => fetch(url).then((reply) => reply.status, () => 'refused');

t.test('the built-in simulator listens on STRIPE_SIMULATOR_HOST: on 0.0.0.0 its checkout page opens from outside, at the URL it gives', { skip: outsideAddress ? false : 'no address but loopback on this machine' }, async (t) => {
  for (const [host, outside] of [['0.0.0.0', 200], [undefined, 'refused']] as const) {
    const tally = await startTally({
      DATABASE_URL: await createTestDatabase(await serverUrl(t)),
      TALLY_ADMIN_KEY: ADMIN_KEY,
      PORT: '0',
      STRIPE_SIMULATOR_PORT: '0',
      ...(host ? { STRIPE_SIMULATOR_HOST: host } : {}),
    });
    t.teardown(() => tally.child.kill('SIGKILL'));
    const page = await checkoutPage(tally.url);
    t.equal(page.hostname, '127.0.0.1', `${host ?? 'default'}: the page is given at 127.0.0.1 (a published port reaches it there)`);
    t.equal(await reachable(page), 200, `${host ?? 'default'}: and opens there`);
    const fromOutside = new URL(page);
    fromOutside.hostname = outsideAddress!;
    t.equal(await reachable(fromOutside), outside, `${host ?? 'default (loopback)'}: from another address: ${outside}`);
    t.equal(await tally.stop('SIGTERM'), 0);
  }
});
