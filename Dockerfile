# nosrv: the compiled code and its production dependencies on Node's slim image, run as a user of
# its own. The entry point is dist/src/main.js itself, whose first line starts node with the V8
# and malloc settings that hold memory down (see src/main.ts); "node dist/src/main.js" loses them.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# unix-dgram (HAProxy's logs over a Unix datagram socket) is a native addon: built here only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json \
 && chmod +x dist/src/main.js \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="nosrv" \
      org.opencontainers.image.description="Tells an on-call engineer why HAProxy answers 503 Service Unavailable, and what to type to fix it" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 nosrv \
 && useradd --system --uid 10001 --gid nosrv --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nosrv
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY docs/runbooks ./docs/runbooks
USER 10001:10001
EXPOSE 9503
# node is all the slim image has to ask /healthz with; the port is the one nosrv was given.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "const port = (process.env.NOSRV_WEB_LISTEN_ADDRESS || ':9503').split(':').pop(); fetch('http://127.0.0.1:' + port + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/app/dist/src/main.js"]
