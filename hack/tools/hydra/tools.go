//go:build tools

// Package tools pins Ory Hydra, whose module root is its main package; hack/tools/build.sh builds
// it from this module.
package tools

import _ "github.com/ory/hydra/v2"
