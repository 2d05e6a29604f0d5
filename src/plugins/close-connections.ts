import fp from 'fastify-plugin';
import { sendError } from './error-handler.js';

/**
 * On close, Fastify closes the connections idle at that instant and answers requests that come on
 * the others with Connection: close. A keep-alive connection busy with a request at that instant
 * stays open after its answer (clients keep it for Fastify's Keep-Alive: timeout=72), holding the
 * close, so the shutdown gave up after its grace, with exit code 1, the ledger drained and the pool
 * closed by no one. So connections that fall idle while closing are closed too.
 *
 * A request that comes on such a connection once the close has begun is refused: 503 shutting_down
 * in the error shape, with Retry-After (Fastify's own return503OnClosing answers in its own shape, so
 * it is off in app.ts), before any other hook runs, so nothing of it is done.
 */
export default fp(
  async (app) => {
    let sweep: NodeJS.Timeout | undefined;
    let closing = false;
    // A callback hook, not an async one: it runs on every request, and makes no promise for it.
    app.addHook('onRequest', (_request, reply, done) => {
      if (!closing) return done();
      sendError(reply, 503, 'shutting_down', 'Tally is shutting down: send the request again, and it will be served by another instance or once this one is back');
    });
    app.addHook('preClose', async () => {
      closing = true;
      sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      sweep.unref();
    });
    app.addHook('onClose', async () => clearInterval(sweep));
  },
  { name: 'close-connections', dependencies: ['error-handler'] },
);
