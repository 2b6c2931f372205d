#!/usr/bin/env bash
# Builds the tools Rotor's tests run for real (helm, promtool, the Lua engine Argo CD embeds,
# kstatus, …) from Go modules into a cache outside the repository. Each tool is a directory
# here holding a small wrapper module (go.mod, go.sum) and a build.env:
#
#   PACKAGE=helm.sh/helm/v3/cmd/helm   # what to build ("." for the directory's own main.go)
#   CGO_ENABLED=0                      # optional
#   TAGS=                              # optional build tags
#
# The cache key is a digest of the directory's files, so changing a version rebuilds.
#
#   hack/tools/build.sh               # builds every tool; prints nothing but progress
#   hack/tools/build.sh helm promtool # builds those; prints each binary's path, one per line
#
# Environment: ROTOR_CACHE_DIR (default ${XDG_CACHE_HOME:-~/.cache}/rotor).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${ROTOR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor}
log() { printf '[tools build] %s\n' "$*" >&2; }

# The binary's path for a tool: $cache/tools/<name>-<digest of its directory>/<name>.
binary_of() {
  local name=$1 key
  key=$(cd "$here/$name" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
  echo "$cache_root/tools/$name-$key/$name"
}

build() {
  local name=$1 out PACKAGE CGO_ENABLED=0 TAGS="" started=$SECONDS
  out=$(binary_of "$name")
  if [ -x "$out" ]; then echo "$out"; return; fi
  command -v go >/dev/null || { log "Go is required to build $name (Go 1.26 or newer)"; exit 1; }
  # shellcheck source=/dev/null
  source "$here/$name/build.env"
  log "building $name ($PACKAGE) …"
  mkdir -p "$(dirname "$out")"
  (cd "$here/$name" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=$CGO_ENABLED \
    go build -trimpath -tags "$TAGS" -o "$out.partial" "$PACKAGE")
  mv "$out.partial" "$out"
  log "built $name in $((SECONDS - started))s: $out"
  echo "$out"
}

if [ $# -eq 0 ]; then
  for dir in "$here"/*/; do
    [ -f "$dir/build.env" ] && build "$(basename "$dir")" >/dev/null
  done
  exit 0
fi
for name in "$@"; do
  [ -f "$here/$name/build.env" ] || { log "unknown tool: $name (no hack/tools/$name/build.env)"; exit 2; }
  build "$name"
done
