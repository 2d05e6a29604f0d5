import fp from 'fastify-plugin';

/**
 * On close, Fastify closes the connections idle at that instant and answers requests that come on
 * the others with Connection: close. A keep-alive connection busy with a request at that instant
 * stays open after its answer (clients keep it for Fastify's Keep-Alive: timeout=72), holding the
 * close, so the shutdown gave up after its grace, with exit code 1, the ledger drained and the pool
 * closed by no one. So connections that fall idle while closing are closed too.
 */
export default fp(
  async (app) => {
    let sweep: NodeJS.Timeout | undefined;
    app.addHook('preClose', async () => {
      sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      sweep.unref();
    });
    app.addHook('onClose', async () => clearInterval(sweep));
  },
  { name: 'close-connections' },
);
