#!/usr/bin/env bash
# Regenerates every generated file: helpers beside the API types (deepcopy, conversion,
# defaults), OpenAPI definitions, and the clientset, listers, informers and apply configurations
# in pkg/generated. The generators come from the k8s.io/code-generator version pinned in go.mod.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"
THIS_PKG=actions.dev/runnerset-apiserver
START=${SECONDS}
step() { echo "codegen: $* ($((SECONDS - START)) s)" >&2; }

# code-generator is only a tool dependency: a fresh module cache does not hold it until asked.
step "downloading k8s.io/code-generator"
go mod download k8s.io/code-generator
CODEGEN_PKG=$(go list -m -f '{{.Dir}}' k8s.io/code-generator)
# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

BOILERPLATE="${ROOT}/hack/boilerplate.go.txt"

step "deepcopy, conversion and defaults beside the API types"
kube::codegen::gen_helpers --boilerplate "${BOILERPLATE}" "${ROOT}/pkg/apis"

# The RunnerSet template embeds core/v1 types, so their definitions must be generated too.
step "OpenAPI definitions"
kube::codegen::gen_openapi \
    --output-dir "${ROOT}/pkg/generated/openapi" \
    --output-pkg "${THIS_PKG}/pkg/generated/openapi" \
    --output-model-name-file "zz_generated.model_name.go" \
    --extra-pkgs k8s.io/api/core/v1 \
    --extra-pkgs k8s.io/api/autoscaling/v1 \
    --extra-pkgs k8s.io/apimachinery/pkg/util/intstr \
    --report-filename "${ROOT}/hack/api-rules-violations.list" \
    --boilerplate "${BOILERPLATE}" \
    "${ROOT}/pkg/apis"

externals=()
for t in PodTemplateSpec PersistentVolumeClaimSpec ConfigMapKeySelector; do
  externals+=("k8s.io/api/core/v1.${t}:k8s.io/client-go/applyconfigurations/core/v1")
done
step "clientset, listers, informers and apply configurations"
kube::codegen::gen_client \
    --with-watch \
    --with-applyconfig \
    --applyconfig-externals "$(IFS=,; echo "${externals[*]}")" \
    --applyconfig-openapi-schema <(go run "${THIS_PKG}/hack/models-schema") \
    --output-dir "${ROOT}/pkg/generated" \
    --output-pkg "${THIS_PKG}/pkg/generated" \
    --boilerplate "${BOILERPLATE}" \
    "${ROOT}/pkg/apis"

hack/codegen-stamp.sh write
step "done"
