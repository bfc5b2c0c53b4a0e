// Command bedgen prints, as one multi-document YAML stream, the KubeVirt objects the test bed
// installs exactly as KubeVirt's own operator generates them: every CRD, virt-api's mutating and
// validating webhook configurations and its subresource APIServices. The bed rewrites the webhook
// and APIService endpoints to where its own virt-api listens.
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"

	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"
)

func main() {
	const namespace = "kubevirt"
	crdConstructors := []func() (interface{}, error){
		wrap(components.NewVirtualMachineInstanceCrd),
		wrap(components.NewVirtualMachineCrd),
		wrap(components.NewPresetCrd),
		wrap(components.NewReplicaSetCrd),
		wrap(components.NewVirtualMachineInstanceMigrationCrd),
		wrap(components.NewKubeVirtCrd),
		wrap(components.NewVirtualMachinePoolCrd),
		wrap(components.NewVirtualMachineSnapshotCrd),
		wrap(components.NewVirtualMachineSnapshotContentCrd),
		wrap(components.NewVirtualMachineRestoreCrd),
		wrap(components.NewVirtualMachineExportCrd),
		wrap(components.NewVirtualMachineBackupCrd),
		wrap(components.NewVirtualMachineBackupTrackerCrd),
		wrap(components.NewVirtualMachineInstancetypeCrd),
		wrap(components.NewVirtualMachineClusterInstancetypeCrd),
		wrap(components.NewVirtualMachinePreferenceCrd),
		wrap(components.NewVirtualMachineClusterPreferenceCrd),
		wrap(components.NewMigrationPolicyCrd),
		wrap(components.NewVirtualMachineCloneCrd),
	}
	var objects []interface{}
	for _, construct := range crdConstructors {
		crd, err := construct()
		if err != nil {
			fail(err)
		}
		objects = append(objects, crd)
	}
	objects = append(objects,
		components.NewVirtAPIMutatingWebhookConfiguration(namespace),
		components.NewVirtAPIValidatingWebhookConfiguration(namespace),
	)
	for _, apiService := range components.NewVirtAPIAPIServices(namespace) {
		objects = append(objects, apiService)
	}
	for _, object := range objects {
		out, err := yaml.Marshal(object)
		if err != nil {
			fail(err)
		}
		fmt.Printf("---\n%s", out)
	}
}

func wrap[T any](construct func() (T, error)) func() (interface{}, error) {
	return func() (interface{}, error) { return construct() }
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bedgen:", err)
	os.Exit(1)
}
