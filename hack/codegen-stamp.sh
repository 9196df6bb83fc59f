#!/usr/bin/env bash
# The code generators' stamp: one hash over everything they read (the API types, the scripts,
# go.mod and go.sum, which pin the generators and the types they embed) and everything they
# write. update-codegen.sh writes it; verify-codegen.sh compares it and regenerates only when
# something changed since, which a hand edit of a generated file or a type changed without
# regenerating both do. Usage: codegen-stamp.sh write|check
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STAMP="${ROOT}/hack/codegen.stamp"
cd "${ROOT}"

hash_tree() {
  {
    # The API packages the generators read (not validation, fuzzer, install or tests).
    find pkg/apis \( -name validation -o -name fuzzer -o -name install \) -prune -o -type f -name '*.go' ! -name '*_test.go' -print
    find pkg/generated hack/models-schema -type f -name '*.go'
    echo go.mod go.sum hack/update-codegen.sh hack/codegen-stamp.sh hack/boilerplate.go.txt hack/api-rules-violations.list | tr ' ' '\n'
  } | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1
}

case "${1:-}" in
  write) hash_tree > "${STAMP}" ;;
  check) [[ -f "${STAMP}" && "$(cat "${STAMP}")" == "$(hash_tree)" ]] ;;
  *) echo "usage: $0 write|check" >&2; exit 2 ;;
esac
