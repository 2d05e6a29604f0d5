# Tally: multi-stage build, runs as a non-root user, applies pending migrations at start, then serves.
# docker build -t tally . && docker run -e DATABASE_URL=... -e TALLY_ADMIN_KEY=... -p 3000:3000 tally

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
# npm ci runs the project's postinstall, which generates the Prisma client offline.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc --noEmit -p . \
 && node scripts/build.mjs \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0 TALLY_DATA_DIR=/app/.data
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/prisma ./prisma
COPY --from=build --chown=node:node /app/dist ./dist
# TALLY_DATA_DIR, writable by the user Tally runs as: a demo (STRIPE_SIMULATOR=on, no DATABASE_URL) keeps
# its embedded PostgreSQL there. Production needs DATABASE_URL and refuses to start without it.
RUN mkdir /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# dist/server.js (src/server.ts, built) applies pending migrations (Prisma's schema engine, as WebAssembly) before listening.
# The same V8 flags and malloc setting as npm start: a young generation big enough for requests in
# flight to die young, a capped heap and one malloc arena (glibc otherwise keeps one per thread, each holding freed memory) keep RSS well under 200 MB.
ENV MALLOC_ARENA_MAX=1
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=96", "dist/server.js"]
