#!/usr/bin/env bash
# Fails when generated code is stale: regenerates into a scratch copy of the tree and diffs it
# against the working tree, leaving the working tree untouched.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "${SCRATCH}"' EXIT

# Copy what the generators read and write; _output (tool binaries) is not needed.
tar -C "${ROOT}" --exclude=./_output --exclude=./.git -cf - . | tar -C "${SCRATCH}" -xf -
"${SCRATCH}/hack/update-codegen.sh" >/dev/null
for d in pkg hack/api-rules-violations.list; do
  if ! diff -Naupr "${ROOT}/${d}" "${SCRATCH}/${d}"; then
    echo "generated code is stale: run hack/update-codegen.sh (make generate)" >&2
    exit 1
  fi
done
echo "generated code is up to date"
