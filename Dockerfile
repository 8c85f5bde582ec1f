# One image for the worker, the webhook shim and one-shot migrations. glibc base: the Temporal
# SDK's native core bridge ships no musl build, so Alpine images cannot run the worker.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
USER node
CMD ["npm", "run", "worker"]
