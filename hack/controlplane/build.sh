#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) from upstream Go modules into a cache outside the repository,
# keyed by version. A second run with the same versions returns at once.
#
#   hack/controlplane/build.sh            # prints the bin directory on its last line
#
# Environment: ROTOR_CACHE_DIR (default ${XDG_CACHE_HOME:-~/.cache}/rotor).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${ROTOR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor}
key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
bin="$cache_root/controlplane/$key/bin"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

log() { printf '[controlplane build] %s\n' "$*" >&2; }

have_all() {
  for c in "${components[@]}"; do [ -x "$bin/$c" ] || return 1; done
}

# rotor-pki is the project's own (hack/controlplane/pki.go): rebuilt whenever its source changes.
build_pki() {
  local sum
  sum=$(sha256sum "$here/pki.go" | cut -c1-16)
  if [ "$(cat "$bin/rotor-pki.sum" 2>/dev/null)" != "$sum" ]; then
    mkdir -p "$bin"
    (cd "$here" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS= GO111MODULE=off go build -o "$bin/rotor-pki" pki.go)
    echo "$sum" > "$bin/rotor-pki.sum"
  fi
}

if have_all; then
  build_pki
  log "cached: $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { log "Go is required to build the control plane (Go 1.26 or newer)"; exit 1; }

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$bin"
work=$(mktemp -d "$cache_root/controlplane/build.XXXXXX")
started=$SECONDS
# Compiling Kubernetes is quiet for many minutes: say that it is still going.
( while sleep 60 && kill -0 $$ 2>/dev/null; do log "… still building ($((SECONDS - started))s)"; done ) &
heartbeat=$!
trap 'kill $heartbeat 2>/dev/null; rm -rf "$work"' EXIT

step() { log "[$1/4] $2 (elapsed $((SECONDS - started))s)"; }

# --- kubernetes -------------------------------------------------------------
# k8s.io/kubernetes requires its staging modules at v0.0.0 with replaces to ./staging,
# which do not apply to a dependent module. A wrapper module replaces each one with the
# published v0.N.P, derived from that release's own go.mod so the list never goes stale.
k8s_minor=${KUBERNETES_VERSION#v1.}; k8s_minor=${k8s_minor%%.*}
staging_version="v0.${KUBERNETES_VERSION#v1.}"
if [ ! -x "$bin/kube-apiserver" ] || [ ! -x "$bin/kube-controller-manager" ] || [ ! -x "$bin/kube-scheduler" ] || [ ! -x "$bin/kubectl" ]; then
  step 1 "resolving k8s.io/kubernetes $KUBERNETES_VERSION"
  mkdir -p "$work/k8s" && cd "$work/k8s"
  upstream_mod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  go_line=$(grep -E '^go [0-9]' "$upstream_mod")
  godebug_line=$(grep -E '^godebug ' "$upstream_mod" || echo "godebug default=go1.$k8s_minor")
  {
    echo "module rotor.local/controlplane/kubernetes"
    echo
    echo "$go_line"
    echo
    echo "$godebug_line"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "replace ("
    grep -E '=> \./staging/' "$upstream_mod" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > go.mod
  log "wrapper replaces $(grep -c '=> ' go.mod) staging modules with $staging_version"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  step 2 "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (the first build downloads several hundred MB of modules and takes many minutes on 2 cores)"
  go build -trimpath -ldflags "$ldflags" -o "$work/out/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
  mv "$work/out/"* "$bin/"
fi

# --- etcd --------------------------------------------------------------------
# etcd's server module has replaces in its go.mod, so `go install @version` refuses it;
# a wrapper module that requires it builds its main package.
if [ ! -x "$bin/etcd" ]; then
  step 3 "building etcd $ETCD_VERSION"
  mkdir -p "$work/etcd" && cd "$work/etcd"
  printf 'module rotor.local/controlplane/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > go.mod
  go build -trimpath -ldflags "-s -w" -o "$work/out/etcd" go.etcd.io/etcd/server/v3
  mv "$work/out/etcd" "$bin/etcd"
fi

# --- kwok --------------------------------------------------------------------
if [ ! -x "$bin/kwok" ]; then
  step 4 "building kwok $KWOK_VERSION"
  GOBIN="$work/out" GOFLAGS= go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$work/out/kwok" "$bin/kwok"
  # kwok's stock "fast" stages ship inside its module; keep a copy beside the binary.
  kwok_dir=$(GOFLAGS= go list -m -json "sigs.k8s.io/kwok@$KWOK_VERSION" 2>/dev/null | sed -n 's/.*"Dir": "\(.*\)".*/\1/p' || true)
  if [ -z "$kwok_dir" ]; then
    kwok_dir=$(GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  fi
  stages="$bin/../kwok-stages"
  mkdir -p "$stages"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cp "$kwok_dir/kustomize/stage/$f" "$stages/"
  done
  chmod -R u+w "$stages"
fi

build_pki
have_all || { log "build finished but a component is missing in $bin"; exit 1; }
log "done in $((SECONDS - started))s: $bin"
echo "$bin"
