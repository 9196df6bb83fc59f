#!/usr/bin/env bash
# Fails when generated code is stale: regenerates into a scratch copy of the tree and diffs it
# against the working tree, leaving the working tree untouched.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Nothing the generators read or write changed since they last ran: nothing can be stale.
# VERIFY_CODEGEN_FULL=1 regenerates anyway.
if [[ -z "${VERIFY_CODEGEN_FULL:-}" ]] && "${ROOT}/hack/codegen-stamp.sh" check; then
  echo "generated code is up to date (hack/codegen.stamp matches the inputs and outputs)"
  exit 0
fi
echo "regenerating into a scratch copy to compare (a few minutes; progress below)" >&2
SCRATCH=$(mktemp -d)
trap 'rm -rf "${SCRATCH}"' EXIT

# Copy what the generators read and write; _output (tool binaries) is not needed.
tar -C "${ROOT}" --exclude=./_output --exclude=./.git -cf - . | tar -C "${SCRATCH}" -xf -
"${SCRATCH}/hack/update-codegen.sh" >/dev/null
for d in pkg hack/api-rules-violations.list hack/codegen.stamp; do
  if ! diff -Naupr "${ROOT}/${d}" "${SCRATCH}/${d}"; then
    echo "generated code is stale: run hack/update-codegen.sh (make generate)" >&2
    exit 1
  fi
done
echo "generated code is up to date"
