# Ridematch API image: `node dist/main.js` on production dependencies only, as a non-root user.
#   docker build -t ridematch .        (docker-compose.yml builds it for its API instances)

# Build stage: all dependencies, the Prisma client, then dist/.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: postinstall (prisma generate) needs the schema, which is not copied yet, and no
# dependency's install script is needed (README: allowScripts). The client is generated below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run generate && npm run build

# Runtime stage.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. --ignore-scripts: postinstall runs prisma generate, and prisma is a
# devDependency; the generated client is compiled into dist/ (copied below). --omit=optional:
# prisma and typescript are optional peers of @prisma/client, which npm keeps otherwise (~250 MB).
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Read at start-up by the migration runner (dist/db/migrate.js → ../../prisma/migrations).
COPY prisma/migrations ./prisma/migrations
# The image's unprivileged user; the app writes nothing to disk.
USER node
EXPOSE 4000
# /ready: Postgres answers and every Redis shard is healthy (the balancer checks the same).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (no npm, no shell), so `docker stop`'s SIGTERM reaches the server, which drains.
CMD ["node", "dist/main.js"]
