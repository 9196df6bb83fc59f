#!/usr/bin/env bash
# Fails when go.mod or go.sum would change under `go mod tidy` (the tools module included).
set -o errexit -o nounset -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for mod in "${ROOT}" "${ROOT}/hack/tools" "${ROOT}/hack/image"; do
  scratch=$(mktemp -d)
  cp "${mod}/go.mod" "${mod}/go.sum" "${scratch}/"
  (cd "${mod}" && go mod tidy)
  if ! diff -u "${scratch}/go.mod" "${mod}/go.mod" || ! diff -u "${scratch}/go.sum" "${mod}/go.sum"; then
    cp "${scratch}/go.mod" "${scratch}/go.sum" "${mod}/"
    rm -rf "${scratch}"
    echo "${mod}: go.mod/go.sum are not tidy: run go mod tidy there" >&2
    exit 1
  fi
  rm -rf "${scratch}"
done
echo "go.mod files are tidy"
