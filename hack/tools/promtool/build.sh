#!/usr/bin/env bash
# Builds promtool (Prometheus' rule checker and rule unit-test runner) into _output/bin, for the
# charts tests that run `promtool test rules` on the runnerset-apiserver chart's PrometheusRule.
# As hack/tools/build.sh does, a stamp keyed on this module's go.mod, go.sum and this script
# skips the build when nothing changed (a warm run takes well under a second). Built with
# remove_all_sd: promtool's rule commands need none of Prometheus' cloud service discoveries,
# which are most of its dependency graph.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin="$root/_output/bin"
stamp="$bin/.promtool-stamp"
want=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$bin/promtool" ]; then exit 0; fi

mkdir -p "$bin"
echo "building promtool into $bin" >&2
cd "$here"
v=$(go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
go build -trimpath -tags remove_all_sd \
  -ldflags "-s -w -X github.com/prometheus/common/version.Version=$v" \
  -o "$bin/promtool" github.com/prometheus/prometheus/cmd/promtool
echo "$want" > "$stamp"
