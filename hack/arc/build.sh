#!/usr/bin/env bash
# Builds ARC's controller (manager) and listener (ghalistener) from an ARC source tree, for
# make bench-arc: hack/arc/build.sh <ARC_SRC> <OUT_DIR>. ARC_SRC is a checkout (or `git archive`)
# of github.com/actions/actions-runner-controller at a gha-runner-scale-set-0.14.x tag; it is
# never part of this repository. The chart's appVersion is baked into both binaries
# (build.Version): without it ARC's controller deletes every AutoscalingRunnerSet ("version
# doesn't match the build version"). Writes OUT_DIR/{manager,ghalistener,arc-version.txt} and
# prints the version and the commit (ARC_COMMIT, else the checkout's HEAD, else "unknown").
# With no ARC_SRC it says so and exits 0.
set -euo pipefail
src=${1:-${ARC_SRC:-}}
out=${2:-}
if [[ -z "$src" ]]; then
	echo "ARC_SRC is not set: nothing to build (it must be a checkout of actions/actions-runner-controller at a gha-runner-scale-set-0.14.x tag)"
	exit 0
fi
if [[ -z "$out" ]]; then
	echo "usage: $0 <ARC_SRC> <OUT_DIR>" >&2
	exit 2
fi
chart="$src/charts/gha-runner-scale-set-controller/Chart.yaml"
if [[ ! -f "$src/main.go" || ! -f "$src/cmd/ghalistener/main.go" || ! -f "$chart" ]]; then
	echo "$src is not an ARC source tree (no main.go, cmd/ghalistener or $chart)" >&2
	exit 1
fi
version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$chart")
if [[ -z "$version" ]]; then
	echo "no appVersion in $chart" >&2
	exit 1
fi
commit=${ARC_COMMIT:-}
if [[ -z "$commit" ]]; then
	commit=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
go=${GO:-go}
ldflags="-s -w -X 'github.com/actions/actions-runner-controller/build.Version=$version'"
echo "building ARC $version (commit $commit) from $src into $out" >&2
(
	cd "$src"
	export GOWORK=off GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
	"$go" build -buildvcs=false -trimpath -ldflags="$ldflags" -o "$out/manager" .
	"$go" build -buildvcs=false -trimpath -ldflags="$ldflags" -o "$out/ghalistener" ./cmd/ghalistener
)
printf 'version=%s\ncommit=%s\nsource=%s\n' "$version" "$commit" "$src" >"$out/arc-version.txt"
echo "ARC $version (commit $commit): $out/manager $out/ghalistener"
