import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, onSendHookHandler, preHandlerHookHandler } from 'fastify';
import { claimKeyUse, keyCreateFailed, keyCreateMade, type KeyUse } from '../db/idempotency-queries.js';
import type { Idempotency } from '../domain/ledger/types.js';
import { KeyReusedFailure } from '../errors.js';
import { idempotencyOf } from '../routes/schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The operation of a create that its Idempotency-Key makes once outside the ledger (a pack, plan,
     * bill or checkout: the key fixes its id and Stripe's idempotency keys).
     */
    keyedCreate?: string;
  }
  interface FastifyRequest {
    /**
     * The key's use; `claimed` when this request recorded it, `running` when it is counted among those
     * making the create (see claimKeyUse), and what the first to make it kept (`kept`). A route whose
     * result the key alone does not lead back to sets `keep`, kept with the key once the create is made.
     */
    keyUse?: { use: Idempotency; claimed: boolean; running: boolean; kept: Record<string, unknown>; keep?: Record<string, unknown> };
  }
}

/**
 * The Idempotency-Key contract for creates kept outside the ledger, as the ledger keeps it for
 * spends: the same key with the same request answers the first result (`idempotent-replayed: true`),
 * with another request (another body, or another operation) it is a 409, before anything is asked of
 * Stripe. The key is claimed in idempotency_records (kept as long as the ledger's records) before the
 * create runs, so of two different requests racing with one new key, one creates and the other is the
 * 409. The same request sent again while the first is still being made (a client's retry after its
 * timeout) makes the create too: its id and Stripe's idempotency keys are the key's, so both come to
 * the same object (or the later is told, by Stripe, that the first is still in progress: a 409
 * `request_in_progress`). Every such request is counted with the key until one makes the create; a
 * failed one is uncounted, and the last to fail gives the claim back, so that it can be retried with
 * the same key, corrected; once any made it, the key is that object's for good. A process that stops
 * mid-create leaves its claim: the same request retried then makes the create again (nothing is made
 * twice), another request under the key is a 409.
 */
export default fp(
  async (app) => {
    const pool = app.db.pool;
    app.addHook('onRoute', (route) => {
      const operation = route.config?.keyedCreate;
      if (!operation) return;
      const checkKey: preHandlerHookHandler = async (request) => {
        const use = idempotencyOf(request, operation);
        if (!use) return;
        const { claimed, running, first } = await claimKeyUse(pool, use);
        if (!sameRequest(first, use)) throw new KeyReusedFailure(use.key);
        request.keyUse = { use, claimed, running, kept: first.result };
      };
      const settleKey: onSendHookHandler = async (request: FastifyRequest, reply: FastifyReply, payload) => {
        const { keyUse } = request;
        if (!keyUse) return payload;
        if (!keyUse.claimed && reply.statusCode < 300) reply.header('idempotent-replayed', 'true');
        if (!keyUse.running) return payload;
        // A database gone meanwhile leaves the request counted, as a process that stopped mid-create
        // does: the same request retried makes the create again. The answer stays the one being sent.
        const settled = reply.statusCode >= 300 ? keyCreateFailed(pool, keyUse.use) : keyCreateMade(pool, keyUse.use, keyUse.keep);
        await settled.catch((error: unknown) => request.log.warn({ err: error, status: reply.statusCode }, 'what became of a create was not kept with its key'));
        return payload;
      };
      route.preHandler = [...asArray(route.preHandler), checkKey];
      route.onSend = [...asArray(route.onSend), settleKey];
    });
  },
  { name: 'keyed-creates', dependencies: ['services'] },
);

const sameRequest = (a: KeyUse, b: Idempotency) => a.operation === b.operation && a.fingerprint === b.fingerprint;

const asArray = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);
