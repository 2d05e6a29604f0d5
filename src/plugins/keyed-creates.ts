import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, onSendHookHandler, preHandlerHookHandler } from 'fastify';
import { findKeyUse, recordKeyUse, type KeyUse } from '../db/idempotency-queries.js';
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
    keyUse?: { use: Idempotency; replayed: boolean };
  }
}

/**
 * The Idempotency-Key contract for creates kept outside the ledger, as the ledger keeps it for
 * spends: the same key with the same request answers the first result (`idempotent-replayed: true`),
 * with another request (another body, or another operation) it is a 409, before anything is asked of
 * Stripe. The key's first use is recorded in idempotency_records (kept as long as the ledger's
 * records) once the create has succeeded: a refused or failed create records nothing, so it can be
 * retried with the same key, corrected. Two different requests racing with one new key are not
 * told apart (both pass the check); the loser's create then meets the winner's id or Stripe keys.
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
        const first = await findKeyUse(pool, use.key);
        if (first && !sameRequest(first, use)) throw new KeyReusedFailure(use.key);
        request.keyUse = { use, replayed: first !== undefined };
      };
      const recordKey: onSendHookHandler = async (request: FastifyRequest, reply: FastifyReply, payload) => {
        const { keyUse } = request;
        if (!keyUse || reply.statusCode >= 300) return payload;
        if (keyUse.replayed) {
          reply.header('idempotent-replayed', 'true');
          return payload;
        }
        const recorded = await recordKeyUse(pool, keyUse.use);
        if (!sameRequest(recorded, keyUse.use)) request.log.warn({ idempotencyKey: keyUse.use.key }, 'two different requests raced with one new Idempotency-Key');
        return payload;
      };
      route.preHandler = [...asArray(route.preHandler), checkKey];
      route.onSend = [...asArray(route.onSend), recordKey];
    });
  },
  { name: 'keyed-creates', dependencies: ['services'] },
);

const sameRequest = (a: KeyUse, b: KeyUse) => a.operation === b.operation && a.fingerprint === b.fingerprint;

const asArray = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);
