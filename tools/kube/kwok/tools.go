//go:build tools

// Pins sigs.k8s.io/kwok for .ci/install-kube.sh.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
