# syntax=docker/dockerfile:1
# openem-config as a container image; the command line is the CLI's own:
#   docker run --rm --read-only IMAGE -v /config/vars.toml -s S3_USER_FILE ... -l /config/concurrency-limits.toml
# docs/container.md explains the build arguments, the environment and the recipes in deploy/.
#
# Base: the Docker Official Image node:24-trixie-slim, for every stage.
# - Debian 13 (stable) gets security fixes sooner than bookworm (oldstable), and scanners report
#   far fewer open CVEs for it. glibc, like the Node binary the project's tests and CI run.
# - alpine is some 40 MB smaller but runs Node on musl, a platform Node.js ships only as
#   experimental and that CI cannot reproduce here. distroless has no shell to look into a failed
#   init container with, and is not an official image.
# - What slim adds that we don't need is removed in the runtime stage: npm, npx, corepack and yarn,
#   so that nothing in the image can install packages and scanners stop reporting npm's own
#   dependencies.
# Pin a digest for a reproducible base: --build-arg BASE_IMAGE=docker.io/library/node:24-trixie-slim@sha256:...
ARG BASE_IMAGE=docker.io/library/node:24-trixie-slim

# ---- build: every dependency, then a type-checked compile of src/ into dist/ ----
FROM ${BASE_IMAGE} AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /src
COPY package.json package-lock.json ./
# Behind a TLS-inspecting proxy, hand npm the proxy's CA as a build secret, so no layer keeps it:
#   docker build --secret id=npm_ca,src=/path/to/ca.pem .
# --ignore-scripts: `prepare` would compile before the sources are copied; the build runs below.
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
# tsc type-checks as it compiles (a type error fails the build); esbuild then bundles the program
# and its dependencies into dist/openem-config.mjs.
RUN npm run build

# ---- deps: the production dependencies the bundle leaves out (pino-pretty, for a terminal) ----
FROM ${BASE_IMAGE} AS deps
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    npm ci --omit=dev --ignore-scripts

# ---- runtime: node, the bundled program and the one dependency it loads from node_modules ----
FROM ${BASE_IMAGE} AS runtime
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
# Owned by root, so the user that runs the program cannot change it. The bundle reads
# ../package.json for --version.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/openem-config.mjs /src/dist/openem-config.licenses.txt ./dist/
COPY bin ./bin
ENV NODE_ENV=production
# The official image's `node` user, by number so that Kubernetes' runAsNonRoot can check it.
# The program writes no file: a read-only root filesystem and no home directory are fine.
USER 1000:1000
# A small young generation: V8 otherwise sizes it for the host's memory and lets short-lived
# garbage (request and parser objects) pile up; 2 MB semi-spaces cut the peak memory of large
# configurations by a third at no measured cost in time (BENCHMARKS.md).
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/bin/openem-config"]

# Last, so that a new version or commit changes the image configuration and no layer.
# None of these is a secret; scripts/test-image.ts shows how a build sets them.
ARG BASE_IMAGE
ARG VERSION=unknown
ARG REVISION=unknown
# The repository this image was built from; set it in the build (--build-arg SOURCE=<url>).
ARG SOURCE=
LABEL org.opencontainers.image.title="openem-config" \
      org.opencontainers.image.description="Bring a Prefect 3 server to the state declared in files: variables, secret blocks, tag concurrency limits, work pools and deployments." \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="BSD-3-Clause" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
