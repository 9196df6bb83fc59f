#!/usr/bin/env bash
# Builds the server's multi-architecture OCI image without Docker (make image): builds the
# hack/image tool in its own module, then runs it from the repository root. It writes
# _output/image/oci/ (an OCI layout) and _output/image/runnerset-apiserver.tar (an oci-archive),
# prints the image index's digest on stdout and its progress on stderr. Arguments go to the tool:
#   hack/image.sh --version=v0.1.0 --commit=$(git rev-parse HEAD) [--push=REF] [--repository=R]
# See hack/image/main.go and options.go for all of them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tool="$root/_output/bin/image-builder"
go=${GO:-go}

echo "building the image tool (hack/image) into $tool" >&2
(cd "$root/hack/image" && GOWORK=off "$go" build -buildvcs=false -o "$tool" .)
cd "$root"
exec "$tool" "$@"
