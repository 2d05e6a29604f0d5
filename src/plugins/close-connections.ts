import fp from 'fastify-plugin';

/**
 * On close, Fastify closes the connections idle at that instant and waits for the rest. A keep-alive
 * connection busy with a request then stays open after its answer (clients keep it for Fastify's
 * Keep-Alive: timeout=72), holding the close, so the shutdown gave up after its grace, with exit
 * code 1, the ledger drained and the pool closed by no one. So answers sent while closing say
 * Connection: close, and connections that fall idle meanwhile are closed too.
 */
export default fp(
  async (app) => {
    let closing = false;
    let sweep: NodeJS.Timeout | undefined;
    app.addHook('preClose', async () => {
      closing = true;
      sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      sweep.unref();
    });
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close');
      done(null, payload);
    });
    app.addHook('onClose', async () => clearInterval(sweep));
  },
  { name: 'close-connections' },
);
