import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import fp from 'fastify-plugin';
import { sendError } from './error-handler.js';

/**
 * On close, Fastify closes the connections idle at that instant and answers requests that come on
 * the others with Connection: close. A keep-alive connection busy with a request at that instant
 * stays open after its answer (clients keep it for Fastify's Keep-Alive: timeout=72), holding the
 * close, so the shutdown gave up after its grace, with exit code 1, the ledger drained and the pool
 * closed by no one. So connections that fall idle while closing are closed too.
 *
 * Node's own idea of idle (closeIdleConnections) leaves out a connection on which no request has
 * come yet, and one whose request headers have only partly come: an HTTP client may open a
 * connection it does not use at once (undici's fetch does when it drops an unread answer), and
 * either held the close until the request timeout, past the grace. So while closing, every
 * connection with no request in progress (its headers fully in, its answer not yet all sent) is
 * closed: a request that had not fully come was not begun, and a client sends it again.
 *
 * A request that comes on such a connection once the close has begun is refused: 503 shutting_down
 * in the error shape, with Retry-After (Fastify's own return503OnClosing answers in its own shape, so
 * it is off in app.ts), before any other hook runs, so nothing of it is done.
 */
export default fp(
  async (app) => {
    let sweep: NodeJS.Timeout | undefined;
    let closing = false;
    /**
     * Every open connection, with the answer to the last request that came on it. Answers go out
     * in the order their requests came, so the connection is busy while that one is not sent.
     * Kept per request as one map entry, no listener: this runs on every spend.
     */
    const lastAnswers = new Map<Socket, ServerResponse | undefined>();
    app.server.on('connection', (socket: Socket) => {
      lastAnswers.set(socket, undefined);
      socket.once('close', () => lastAnswers.delete(socket));
    });
    // Before Fastify's own listener, so that the connection is busy before any of the request is done.
    app.server.prependListener('request', (request, response) => lastAnswers.set(request.socket, response));
    const closeUnbusy = () => {
      for (const [socket, answer] of lastAnswers) if (!answer || answer.writableFinished) socket.destroy();
    };
    // A callback hook, not an async one: it runs on every request, and makes no promise for it.
    app.addHook('onRequest', (_request, reply, done) => {
      if (!closing) return done();
      sendError(reply, 503, 'shutting_down', 'Tally is shutting down: send the request again, and it will be served by another instance or once this one is back');
    });
    app.addHook('preClose', async () => {
      closing = true;
      closeUnbusy();
      sweep = setInterval(closeUnbusy, 100);
      sweep.unref();
    });
    app.addHook('onClose', async () => clearInterval(sweep));
  },
  { name: 'close-connections', dependencies: ['error-handler'] },
);
