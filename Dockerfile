# One image recipe for every service:
#   docker build --build-arg SERVICE=seat-service -t zephyr/seat-service .
# The image holds only that service's compiled code and production dependencies.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS pnpm
ENV CI=true
RUN npm install -g pnpm@10.34.9 && npm cache clean --force

FROM pnpm AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "build with --build-arg SERVICE=<service name>" >&2; exit 1; }
WORKDIR /repo
# The lockfile alone decides the download layer, so source edits do not refetch packages.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN test -f "services/$SERVICE/package.json" || { echo "no such service: $SERVICE" >&2; exit 1; }
RUN pnpm install --offline --frozen-lockfile
RUN pnpm exec tsc -b "services/$SERVICE"
# --legacy: pnpm 10 deploys non-injected workspace packages only with it; --prod drops dev-only packages
# (packages/testing, typescript, jest) so they never reach the image.
RUN pnpm --filter "@zephyr/$SERVICE" deploy --prod --legacy --offline /out \
 && rm -rf /out/src /out/tsconfig.json /out/tsconfig.tsbuildinfo \
 && test -f /out/dist/main.js

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
# tini as PID 1 forwards SIGTERM to node (which drains, then exits) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    SERVICE=${SERVICE}
WORKDIR /app
# Files stay root-owned and read-only for the process; it writes nothing but logs to stdout.
COPY --from=build /out ./
# Numeric uid (the base image's "node" user) so Kubernetes runAsNonRoot can verify it.
USER 1000:1000
# PORT overrides; otherwise each service's documented default port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const d={gateway:3000,'event-service':3001,'seat-service':3002,notifier:3003,'expiry-worker':3004};fetch('http://127.0.0.1:'+(process.env.PORT||d[process.env.SERVICE])+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# node directly, not npm: npm does not forward SIGTERM, so the drain would never run.
CMD ["node", "dist/main.js"]
