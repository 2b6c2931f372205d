//go:build tools

// Package tools pins promtool, which hack/tools/build.sh builds from this module.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
