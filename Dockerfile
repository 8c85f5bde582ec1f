# One image for the worker, the webhook shim, the operator CLI and one-shot migrations, all as
# compiled JavaScript: the runtime stage holds dist/ and production dependencies only, no
# TypeScript, tsx or esbuild. glibc base: the Temporal SDK's native core bridge ships no musl
# build, so Alpine images cannot run the worker.

# Build stage: every dependency, then `npm run build` (dist/: the modules, migrations, workflow bundle).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# Runtime stage.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# `crm-sync …` in the container (docker compose exec worker crm-sync connection list) runs the compiled CLI.
RUN printf '#!/bin/sh\nexec node /app/dist/cli/main.js "$@"\n' > /usr/local/bin/crm-sync && chmod +x /usr/local/bin/crm-sync
USER node
# node directly, not npm: SIGTERM reaches the worker, which drains its tasks before it exits.
CMD ["node", "dist/worker.js"]
