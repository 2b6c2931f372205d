#!/usr/bin/env bash
# Builds Rotor's runtime image with podman, pulling nothing from any container registry: the
# base is assembled from Debian packages (rootfs.sh), Node's binary comes from npm's `node`
# package, the rest from this repository (Containerfile). CI builds the image this way and
# smoke-tests it (test/integration/ship/image.test.ts); users with Docker use the Dockerfile.
#
#   hack/image/build.sh   # tags localhost/rotor:<package.json version> and localhost/rotor:dev;
#                         # prints the image reference on its last line
#
# Needs root (re-runs itself with sudo) and installs podman, runc and mmdebstrap when missing.
# Caches under ${ROTOR_CACHE_DIR:-~/.cache/rotor}/image: the base, keyed by rootfs.sh and its
# package lists and rebuilt after a week (Debian's security updates; ROTOR_IMAGE_REFRESH=1 forces
# it), and the production node_modules, keyed by package.json and package-lock.json. Warm, a
# build compiles the TypeScript and rebuilds only the layers that changed: seconds.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/hack/image
log() { printf '[image build] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "podman and mmdebstrap run as root here: re-running with sudo"
  exec sudo --preserve-env "$0" "$@"
fi

missing=()
for tool in podman runc mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} …"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc mmdebstrap >/dev/null
fi

started=$SECONDS
cache=${ROTOR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor}/image
mkdir -p "$cache"
cd "$repo"
node=$repo/node_modules/node/bin/node
[ -x "$node" ] || { log "no Node binary at $node: run npm ci first"; exit 1; }
field() { "$node" -p "require('./$1')$2"; }
version=$(field package.json .version)
node_version=$(field package-lock.json '.packages["node_modules/node"].version')
if [ "$("$node" --version)" != "v$node_version" ]; then
  log "node_modules/node/bin/node is $("$node" --version), package-lock.json pins $node_version: run npm ci"
  exit 1
fi

# Whether a cached $1 must be made again: missing, a week old, or ROTOR_IMAGE_REFRESH=1.
stale() { [ ! -e "$1" ] || [ "${ROTOR_IMAGE_REFRESH:-}" = 1 ] || [ -n "$(find "$1" -maxdepth 0 -mtime +7)" ]; }
digest() { sha256sum | cut -c1-16; }
# Half-made files and directories, removed however the script ends.
temporary=()
trap 'rm -rf "${temporary[@]}"' EXIT

# The base root filesystem.
base_key=$({ cat "$here/rootfs.sh"; env | grep '^ROTOR_IMAGE_\(SUITE\|LIBRARIES\|FILES\)=' | sort || true; } | digest)
base=$cache/rootfs-$base_key.tar
if stale "$base"; then
  log "assembling the base from Debian packages …"
  t=$SECONDS
  find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$base_key.tar" -delete
  "$here/rootfs.sh" "$base"
  log "base: $(du -m "$base" | cut -f1) MB in $((SECONDS - t))s"
fi

# Production dependencies only, as package-lock.json pins them; no install scripts run. TypeScript
# (type declarations, zod's sources) and source maps are never loaded at run time: over a third
# of node_modules, left out.
unused=(-name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map')
deps_key=$({ cat package.json package-lock.json; echo "${unused[*]}"; } | digest)
deps=$cache/deps-$deps_key
if [ ! -d "$deps/node_modules" ]; then
  log "installing production dependencies …"
  find "$cache" -maxdepth 1 -name 'deps-*' ! -name "deps-$deps_key" -exec rm -rf {} +
  staging=$(mktemp -d "$cache/deps.XXXXXX")
  temporary+=("$staging")
  cp package.json package-lock.json "$staging/"
  (cd "$staging" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  find "$staging/node_modules" -type f \( "${unused[@]}" \) -delete
  rm -rf "$deps" && mv "$staging" "$deps"
fi

# Node's binary, kept per version so that the build context can link it.
node_cached=$cache/node-v$node_version-$(uname -m)
[ -x "$node_cached" ] || { cp "$node" "$node_cached.partial" && mv "$node_cached.partial" "$node_cached"; }

# The build context: links to the cached pieces, and the JavaScript compiled afresh.
context=$(mktemp -d "$cache/context.XXXXXX")
temporary+=("$context")
ln "$base" "$context/rootfs.tar"
ln "$node_cached" "$context/node"
cp -al "$deps/node_modules" "$context/node_modules"
cp package.json "$context/"
"$repo/node_modules/.bin/tsc" -p tsconfig.build.json --outDir "$context/dist" --sourceMap false
# One timestamp for every file, so that podman's cache keeps the layer while the code is the same.
find "$context/dist" -exec touch -h -d @0 {} +

image=localhost/rotor:$version
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
podman build --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 --pull=never --layers \
  --file "$here/Containerfile" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --tag "$image" --tag localhost/rotor:dev "$context" >&2

size=$(podman image inspect --format '{{.Size}}' "$image")
log "built $image ($((size / 1000000)) MB, Node $node_version) in $((SECONDS - started))s"
echo "$image"
