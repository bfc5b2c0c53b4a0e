#!/usr/bin/env bash
# Builds the test bed's real control planes (Kubernetes, etcd, KubeVirt) and kwok from the Go
# module proxy, each from its own wrapper module under e2e/bed/go/, into a cache outside the clone
# keyed by the wrapper's go.mod/go.sum and the Go version. A cached build is reused as it is.
# Prints the directory holding the binaries.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${EVACUATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-evacuator}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
# The checksum database has no entry for these; the hashes the proxy serves equal the ones in
# KubeVirt's own go.sum, and our committed go.sum pins them.
export GONOSUMDB=github.com/rhobs/operator-observability-toolkit,kubevirt.io/virt-template-api,kubevirt.io/virt-template-client-go,kubevirt.io/virt-template-engine

k8s_version=v1.36.3
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=36"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=2026-01-01T00:00:00Z"
done

# component packages... : build the packages of one wrapper module into the cache.
build() {
  local component=$1; shift
  local module_dir=$here/go/$component
  local key
  key=$( (go version; cat "$module_dir"/go.mod "$module_dir"/go.sum; find "$module_dir" -name '*.go' | sort | xargs cat; echo "$ldflags") | sha256sum | cut -c1-16)
  local out=$cache_root/bed/$component-$key
  if [ -f "$out/.complete" ]; then
    echo "bed build: $component cached in $out" >&2
  else
    echo "bed build: building $component into $out (minutes on a cold cache)" >&2
    local started=$SECONDS
    rm -rf "$out" && mkdir -p "$out"
    (cd "$module_dir" && go build -trimpath -ldflags "$ldflags" -o "$out/" "$@")
    touch "$out/.complete"
    echo "bed build: $component built in $((SECONDS - started)) s" >&2
  fi
  mkdir -p "$bin_dir"
  local f name
  for f in "$out"/*; do
    name=$(basename "$f")
    [ "$name" = server ] && name=etcd # go names etcd's binary after its module path
    ln -sfn "$f" "$bin_dir/$name"
  done
}

bin_dir=${1:-$cache_root/bed/current/bin}
ldflags="-s -w"
build etcd go.etcd.io/etcd/server/v3
build kwok sigs.k8s.io/kwok/cmd/kwok
ldflags="-s -w"
build kubevirt kubevirt.io/kubevirt/cmd/virt-api kubevirt.io/kubevirt/cmd/virt-controller ./bedgen
ldflags=$k8s_ldflags
build kubernetes k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
echo "$bin_dir"
