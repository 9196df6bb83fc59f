# runnerset-apiserver. `make run` brings up the whole system on this machine; `make test` runs
# the unit tests and the e2e suite against a real local control plane.
SHELL := /usr/bin/env bash -o pipefail
BIN := $(CURDIR)/_output/bin
GO ?= go
E2E_TIMEOUT ?= 20m
# The version the server reports (--version, /version, its User-Agent): the chart's appVersion.
VERSION ?= v$(shell sed -n 's/^appVersion: "\(.*\)"$$/\1/p' charts/runnerset-apiserver/Chart.yaml)
GIT_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
VERSION_LDFLAGS := -X actions.dev/runnerset-apiserver/pkg/version.gitVersion=$(VERSION) -X actions.dev/runnerset-apiserver/pkg/version.gitCommit=$(GIT_COMMIT)

.PHONY: all
all: build

.PHONY: tools
tools: ## Build the pinned control plane, kubectl, kwok and helm into _output/bin (cached).
	bash hack/tools/build.sh

.PHONY: promtool
promtool: ## Build promtool into _output/bin (cached), for the tests of the server chart's alert rules.
	bash hack/tools/promtool/build.sh

.PHONY: image
image: ## The server's image for linux/amd64 and linux/arm64, without Docker: _output/image/{oci/,runnerset-apiserver.tar}; prints its digest.
	GO=$(GO) hack/image.sh --version=$(VERSION) --commit=$(GIT_COMMIT)

.PHONY: test-image
test-image: ## Build the image in a scratch directory and check it (platforms, user, static binaries, --version).
	cd hack/image && GOWORK=off $(GO) test -count=1 -timeout 30m ./...

.PHONY: build
build: ## Build our binaries into _output/bin.
	$(GO) build -ldflags "$(VERSION_LDFLAGS)" -o $(BIN)/runnerset-apiserver ./cmd/apiserver
	$(GO) build -o $(BIN)/local-up ./cmd/local-up
	$(GO) build -o $(BIN)/github-simulator ./cmd/github-simulator

.PHONY: generate
generate: ## Regenerate deepcopy, conversion, defaults, OpenAPI and clients.
	hack/update-codegen.sh

.PHONY: verify
verify: ## Fail on stale generated code, untidy go.mod, unformatted or vet-failing code.
	hack/verify-codegen.sh
	hack/verify-gomod.sh
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/...
	$(GO) vet -tags faults ./test/...
	$(GO) vet -tags bench ./test/...
	cd hack/image && GOWORK=off $(GO) vet ./...

.PHONY: test-unit
test-unit: ## Unit tests: no cluster (-short skips the tests that start one).
	$(GO) test -short ./...

.PHONY: test-e2e
test-e2e: tools promtool build ## The local system's own tests, the charts' rendering tests (need helm), then the e2e suite, on real control planes.
	$(GO) test -count=1 ./pkg/localsystem/... ./pkg/runneremulator/... ./cmd/github-simulator/... ./charts/...
	$(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) ./test/e2e/... -args -bin-dir=$(BIN)

# The fault, failover and bad-input suite (test/faults; docs/reliability.md). Its full
# forms plus the fuzz targets run in test-faults, bounded well under 20 minutes; make test runs
# the short forms. Each scenario prints its audit; all audits are collected in FAULTS_AUDIT.
FAULTS_TIMEOUT ?= 18m
FAULTS_SEED ?= 20260701
# Fuzzing is bounded by executions, not time: with go1.26 a -fuzztime duration can end in a
# spurious "context deadline exceeded" failure without any crashing input (golang/go#75804,
# fixed in go1.27); it happened here on a loaded machine. FUZZ_EXECS scales every target's count
# (about 20 s each on this machine at 1).
FUZZ_EXECS ?= 1
FAULTS_AUDIT := $(CURDIR)/_output/faults-audit.txt
FUZZ_TARGETS := ./pkg/apis/actions/validation:FuzzValidateRunnerSet:25000 ./pkg/github/actions:FuzzParseJobMessages:500000 ./pkg/github/actions:FuzzDecodeMessage:250000

.PHONY: test-faults
test-faults: tools build ## R1..R8 in their full forms (500 jobs under GitHub faults, leader loss, a 2-minute GitHub outage, runners lost mid-job, two clusters sharing jobs, ...) and the fuzz targets.
	@rm -f $(FAULTS_AUDIT)
	$(GO) test -tags faults -count=1 -timeout $(FAULTS_TIMEOUT) -v ./test/faults/... \
		-args -bin-dir=$(BIN) -full -seed=$(FAULTS_SEED) -audit-file=$(FAULTS_AUDIT)
	@for t in $(FUZZ_TARGETS); do \
		IFS=: read -r pkg fn n <<< "$$t"; n=$$(( n * $(FUZZ_EXECS) )); echo "fuzzing $$fn in $$pkg for $$n executions"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $${n}x -timeout 10m $$pkg || exit 1; \
	done
	@echo; echo "All audits (also in $(FAULTS_AUDIT)):"; cat $(FAULTS_AUDIT)

.PHONY: test-faults-short
test-faults-short: tools build ## The short form of every fault scenario (part of make test).
	@rm -f $(FAULTS_AUDIT)
	$(GO) test -tags faults -count=1 -timeout 14m ./test/faults/... \
		-args -bin-dir=$(BIN) -seed=$(FAULTS_SEED) -audit-file=$(FAULTS_AUDIT); \
		status=$$?; cat $(FAULTS_AUDIT) 2>/dev/null; exit $$status

.PHONY: test
test: test-unit test-e2e test-faults-short test-image ## Everything CI runs.

BENCH_TIMEOUT ?= 18m
BENCH_ARGS ?=
.PHONY: bench
bench: tools build ## Performance suite P1..P8 beside baselines (~13 min): _output/bench/results.{json,md}.
	@mkdir -p _output/bench
	$(GO) test -tags bench -count=1 -run '^TestBench$$' -timeout $(BENCH_TIMEOUT) -v ./test/bench/ \
		-args -bin-dir=$(BIN) -out=$(CURDIR)/_output/bench $(BENCH_ARGS) 2>&1 | tee _output/bench/bench.log

# The test stops by itself within -scale-budget (18m); the timeout only catches a hang.
BENCH_SCALE_TIMEOUT ?= 20m
BENCH_SCALE_ARGS ?=
.PHONY: bench-scale
bench-scale: tools build ## Ten times P5 (issue 16, stops itself within 18 min): 1000 RunnerSets x 50 warm runners, then lists, memory, idle requests, a 5000-job burst and a leader takeover at the size reached: _output/bench/scale-results.{json,md}.
	@mkdir -p _output/bench
	$(GO) test -tags bench -count=1 -run '^TestBenchScale$$' -timeout $(BENCH_SCALE_TIMEOUT) -v ./test/bench/ \
		-args -bin-dir=$(BIN) -out=$(CURDIR)/_output/bench $(BENCH_SCALE_ARGS) 2>&1 | tee _output/bench/scale-bench.log

# make bench-arc ARC_SRC=<dir>: ARC's controller and listener beside our server (issue 16).
# ARC_SRC is a checkout (or `git archive`) of actions/actions-runner-controller at a
# gha-runner-scale-set-0.14.x tag, outside this repository; ARC_COMMIT names its commit when
# ARC_SRC is not a git checkout.
ARC_SRC ?=
ARC_COMMIT ?=
ARC_BIN := $(CURDIR)/_output/arc-bin
BENCH_ARC_TIMEOUT ?= 40m
BENCH_ARC_ARGS ?=
.PHONY: bench-arc
bench-arc: ## ARC 0.14.x (ARC_SRC=<its checkout>) beside our server, same machine and run: _output/bench/arc-results.{json,md}.
	@if [ -z "$(ARC_SRC)" ]; then \
		echo "ARC_SRC is not set: it must be a checkout of github.com/actions/actions-runner-controller at a gha-runner-scale-set-0.14.x tag (outside this repository), e.g. make bench-arc ARC_SRC=/path/to/arc; nothing to do"; \
		exit 0; \
	fi; \
	set -e; $(MAKE) --no-print-directory tools build; \
	ARC_COMMIT="$(ARC_COMMIT)" GO=$(GO) bash hack/arc/build.sh "$(abspath $(ARC_SRC))" $(ARC_BIN); \
	mkdir -p _output/bench; \
	$(GO) test -tags bench -count=1 -run '^TestBenchARC$$' -timeout $(BENCH_ARC_TIMEOUT) -v ./test/bench/ \
		-args -bin-dir=$(BIN) -out=$(CURDIR)/_output/bench -arc-bin=$(ARC_BIN) -arc-src="$(abspath $(ARC_SRC))" $(BENCH_ARC_ARGS) 2>&1 | tee _output/bench/arc-bench.log

.PHONY: run
run: tools build ## The whole system on 127.0.0.1 until Ctrl-C.
	$(BIN)/local-up --bin-dir=$(BIN) --dir=$(CURDIR)/_output/local --server-binary=$(BIN)/runnerset-apiserver \
		--simulator-binary=$(BIN)/github-simulator \
		--manifests=$(CURDIR)/artifacts/example --samples=$(CURDIR)/artifacts/example/runnersets

JOBS ?= 20
DURATION ?= 20s
.PHONY: demo
demo: ## While `make run` runs: queue JOBS jobs (default 20) on the sample RunnerSet team-a/linux-small.
	@url=$$(cat _output/local/simulator.url 2>/dev/null) || { echo "make run is not running: start it in another terminal first"; exit 1; }; \
	curl -sf --max-time 5 --cacert _output/local/simulator-ca.crt -XPOST "$$url/_sim/jobs" -d '{"labels":["linux-small"],"owner":"team-a","repository":"app","duration":"$(DURATION)","count":$(JOBS)}' >/dev/null || \
		{ echo "make run is not running (the GitHub simulator at $$url does not answer): start it in another terminal first"; exit 1; }; \
	echo "queued $(JOBS) jobs of $(DURATION) for runs-on: linux-small in team-a/app; watch: kubectl get runners -n team-a -w --output-watch-events"

.PHONY: clean
clean: ## Remove the local system's state and test output (keeps the built tools).
	rm -rf _output/local _output/e2e _output/faults-* _output/faults-audit.txt

.PHONY: help
help:
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'
