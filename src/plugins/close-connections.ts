import fp from 'fastify-plugin';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * On close, Fastify closes the connections idle at that instant and waits for the rest. A keep-alive
 * connection busy with a request then stays open after its answer (clients keep it for Fastify's
 * Keep-Alive: timeout=72), holding the close, so the shutdown gave up after its grace, with exit
 * code 1, the ledger drained and the pool closed by no one. So answers to requests that come while
 * closing say Connection: close, and connections that fall idle meanwhile are closed too. Both start
 * at close: nothing is added to a request's path before it.
 */
export default fp(
  async (app) => {
    let sweep: NodeJS.Timeout | undefined;
    const closeAfterAnswer = (_request: IncomingMessage, response: ServerResponse) => {
      if (!response.headersSent) response.setHeader('connection', 'close');
    };
    app.addHook('preClose', async () => {
      app.server.prependListener('request', closeAfterAnswer);
      sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      sweep.unref();
    });
    app.addHook('onClose', async () => clearInterval(sweep));
  },
  { name: 'close-connections' },
);
