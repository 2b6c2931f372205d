#!/usr/bin/env bash
# What the tests run besides Rotor, built from Go modules and cached outside the repository: the
# control plane (hack/controlplane) and the tools (hack/tools), side by side so that a cold
# machine spends the module downloads of one while it compiles the other.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
hack/tools/build.sh &
tools=$!
node hack/controlplane/cli.ts build >/dev/null
wait "$tools"
