//go:build tools

// Package tools pins the kwok release that plays the bed's kubelets and virt-handler.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
