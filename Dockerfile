# Rotor's runtime image for users with Docker. One command builds it for amd64 and arm64:
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg REVISION="$(git rev-parse HEAD)" --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
#     --tag REGISTRY/rotor:0.1.0 --push .
#
# (or `--platform linux/amd64 --load --tag rotor:0.1.0` for the local engine, e.g. `kind load`).
# No RUN step executes on the target platform, so neither architecture needs emulation.
#
# CI does not build this file (no Docker engine and no registry there): it builds the same image
# with podman from Debian packages and npm (hack/image/build.sh, hack/image/Containerfile) and
# smoke-tests that one (test/integration/ship/image.test.ts, which also checks that this file
# keeps the same Node version, user, entrypoint and labels). Keep the two alike: Node at
# /usr/local/bin/node, /app/dist, /app/node_modules, /app/package.json, USER 65532:65532.

# The Node version package-lock.json pins (the `node` devDependency).
ARG NODE_VERSION=24.21.0

# JavaScript is the same on every platform: compile and install once, on the builder's own.
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build -- --sourceMap false

# Production dependencies only, without TypeScript and source maps (never loaded at run time).
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \) -delete

# Node's binary for the target platform (TARGETARCH): the official image's, same version.
FROM node:${NODE_VERSION}-bookworm-slim AS node

# glibc, libstdc++, CA certificates and user nonroot (65532); no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    NODE_ENV=production
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Numeric, so that the kubelet can check runAsNonRoot.
USER 65532:65532
EXPOSE 8080 8443
# --max-semi-space-size=2: see PRODUCTION_NODE_FLAGS in hack/operator/process.ts (keep the same).
ENTRYPOINT ["node", "--max-semi-space-size=2", "dist/main.js"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=
LABEL org.opencontainers.image.title="rotor" \
      org.opencontainers.image.description="Kubernetes operator that keeps OAuth2 client-credential secrets fresh, with rollover-gated revocation" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/rotor-dev/rotor" \
      org.opencontainers.image.licenses="Apache-2.0"
