import fp from 'fastify-plugin';
import type { FastifyRequest, RouteOptions } from 'fastify';
import { AuthenticationFailure, PermissionFailure } from '../errors.js';
import type { Principal, Role } from '../domain/api-keys/api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Who may call the route: 'public' (no key), 'service' (any key) or 'admin'. */
    access?: 'public' | Role;
  }
}

/** A public route says so in its schema (and so in openapi.yaml), where the document's default is a key. */
function documentPublicAccess(route: RouteOptions): void {
  if (route.config?.access === 'public' && route.schema && !route.schema.hide) route.schema = { ...route.schema, security: [] };
}

/** Every route needs a key unless its config says `access: 'public'`. */
export default fp(
  async (app) => {
    app.addHook('onRoute', documentPublicAccess);
    app.addHook('onRequest', async (request: FastifyRequest) => {
      const url = request.routeOptions.url;
      // The interactive docs (registered by @fastify/swagger-ui, which takes no route config) are public.
      const access = url?.startsWith('/docs') ? 'public' : (request.routeOptions.config?.access ?? 'service');
      if (access === 'public' || !url) return;
      const header = request.headers.authorization;
      // The scheme's name is case-insensitive (RFC 9110, 11.1).
      const secret = header && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
      if (!secret) throw new AuthenticationFailure();
      const principal = await app.apiKeys.verify(secret);
      if (!principal) throw new AuthenticationFailure('Unknown or revoked API key');
      if (access === 'admin' && principal.role !== 'admin') throw new PermissionFailure('admin');
      request.principal = principal;
    });
  },
  { name: 'auth', dependencies: ['services'] },
);
