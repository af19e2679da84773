//go:build tools

// Package tools pins the versions of the Go command-line tools used by CI.
// .ci/install-tools.sh builds them from this module with `go install`.
package tools

import (
	_ "github.com/helm/chart-testing/v3/ct"
	_ "github.com/rhysd/actionlint/cmd/actionlint"
	_ "github.com/yannh/kubeconform/cmd/kubeconform"
	_ "github.com/zegl/kube-score/cmd/kube-score"
)
