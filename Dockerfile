# syntax=docker/dockerfile:1
# One image for every node group: SERVICES (set by compose / Kubernetes) picks what a container runs.

# ---- build: full dependency tree (TypeScript, the `node` devDependency) to compile dist/ ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Manifests first so the dependency layer is reused until package*.json change.
COPY package.json package-lock.json ./
# The `node` devDependency's preinstall fetches its binary here; it only serves `npm run` in this stage.
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ---- runtime: production dependencies and compiled JavaScript only ----
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/app/data
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev drops TypeScript, jest and the `node` devDependency: Node comes from the base image.
# --ignore-scripts: no production dependency needs an install step, and it skips telemetry postinstalls.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force \
    && mkdir -p /app/data \
    && chown 1000:1000 /app/data
COPY --from=build /app/dist ./dist

# uid 1000 is the base image's `node` user; numeric so Kubernetes' runAsNonRoot can verify it.
# Application files stay root-owned: the process cannot rewrite its own code.
USER 1000:1000

# 3000 HTTP gateway (api), 3001 health endpoints on nodes without the gateway, 3030 Prometheus metrics.
EXPOSE 3000 3001 3030

# Slim images have no curl: Node's built-in fetch probes liveness. Non-gateway nodes set HEALTH_PORT;
# the gateway answers /health/live on its HTTP port (PORT, default 3000).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "const port = Number(process.env.HEALTH_PORT) || Number(process.env.PORT) || 3000; fetch('http://127.0.0.1:' + port + '/health/live', { signal: AbortSignal.timeout(4000) }).then(res => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]

# node runs as PID 1 and receives SIGTERM itself: the broker drains in-flight requests before exiting.
CMD ["node", "dist/platform/runtime/start.js"]
