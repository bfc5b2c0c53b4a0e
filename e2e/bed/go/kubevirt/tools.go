//go:build tools

// Package tools pins the KubeVirt commands the test bed builds from the release module.
package tools

import (
	_ "kubevirt.io/kubevirt/cmd/virt-api"
	_ "kubevirt.io/kubevirt/cmd/virt-controller"
)
