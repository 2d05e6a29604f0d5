import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, onSendHookHandler, preHandlerHookHandler } from 'fastify';
import { claimKeyUse, keepKeyResult, releaseKeyUse, type KeyUse } from '../db/idempotency-queries.js';
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
     * The key's use; for a replay (`claimed` false), what the first create kept with it (`kept`). A
     * route whose result the key alone does not lead back to sets `keep`, kept with the key once the
     * create has succeeded.
     */
    keyUse?: { use: Idempotency; claimed: boolean; kept: Record<string, unknown>; keep?: Record<string, unknown> };
  }
}

/**
 * The Idempotency-Key contract for creates kept outside the ledger, as the ledger keeps it for
 * spends: the same key with the same request answers the first result (`idempotent-replayed: true`),
 * with another request (another body, or another operation) it is a 409, before anything is asked of
 * Stripe. The key is claimed in idempotency_records (kept as long as the ledger's records) before the
 * create runs, so of two different requests racing with one new key, one creates and the other is the
 * 409; a refused or failed create gives its claim back, so it can be retried with the same key,
 * corrected. A process that stops mid-create leaves its claim: the same request retried then runs
 * the create again (its id and Stripe's keys are the key's, so nothing is made twice).
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
        const { claimed, first } = await claimKeyUse(pool, use);
        if (!sameRequest(first, use)) throw new KeyReusedFailure(use.key);
        request.keyUse = { use, claimed, kept: claimed ? {} : first.result };
      };
      const settleKey: onSendHookHandler = async (request: FastifyRequest, reply: FastifyReply, payload) => {
        const { keyUse } = request;
        if (!keyUse) return payload;
        if (reply.statusCode >= 300) {
          // A database gone meanwhile keeps the claim, as a process that stopped mid-create does: the
          // same request retried runs the create again. The answer stays the one being sent (a 503).
          if (keyUse.claimed) {
            await releaseKeyUse(pool, keyUse.use).catch((error: unknown) => request.log.warn({ err: error }, 'the claim of a create that failed was not given back'));
          }
        } else if (!keyUse.claimed) {
          reply.header('idempotent-replayed', 'true');
        } else if (keyUse.keep) {
          // Not kept (the database gone meanwhile): a replay runs the create again, as before it was kept.
          await keepKeyResult(pool, keyUse.use, keyUse.keep).catch((error: unknown) => request.log.warn({ err: error }, 'the result of a create was not kept with its key'));
        }
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
