import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { expand } from '../http/form-schemas.js';
import { parseParams } from '../http/parse-params.js';
import { found } from '../http/stripe-error.js';
import type { Dispute } from '../stripe-objects.js';

const retrieveParams = z.strictObject({ expand });

export function getDispute(ctx: SimulatorContext, id: string): Dispute {
  return found(ctx.store.disputes, 'dispute', id);
}

export function disputeRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.get<{ Params: { id: string } }>('/v1/disputes/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, getDispute(ctx, request.params.id), params.expand);
  });
}
