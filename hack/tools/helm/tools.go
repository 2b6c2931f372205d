//go:build tools

// Package tools pins helm, which hack/tools/build.sh builds from this module.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
