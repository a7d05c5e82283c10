# Palisade Makefile. `make help` lists the targets.

# Tools are pinned and installed into ./bin through the Go module proxy.
LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
KUBE_VERSION ?= 1.37.1
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
ENVTEST_DIR ?= $(LOCALBIN)/k8s/$(KUBE_VERSION)-$(shell go env GOOS)-$(shell go env GOARCH)
export KUBEBUILDER_ASSETS ?= $(ENVTEST_DIR)

# Packages that carry RBAC and webhook markers (the pure cores carry none and are not scanned).
MARKER_PATHS ?= ./cmd/...;./webhooks/...;./controllers/...

# Nested modules (test oracles, tool wrappers, test/chart with Helm's dependencies) are tested on
# their own; hack/kube is only built.
TEST_MODULES ?= $(shell find . -name go.mod -not -path './hack/kube/*' -not -path './bin/*' -exec dirname {} \; | sort)
GO_TEST_FLAGS ?= -count=1
# Packages that need root (they create network namespaces, or chroot into built images): run by
# test-e2e, not by test.
ROOT_PKGS ?= /test/lab$$|/test/lab/netns$$|/hack/imagebuild/imagetest$$
BENCH ?= .
BENCH_TIME ?= 1s

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs, RBAC and webhook configurations from markers.
	$(CONTROLLER_GEN) crd:allowDangerousTypes=true paths="./api/..." output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=palisade-manager webhook paths="$(MARKER_PATHS)"

.PHONY: generate
generate: controller-gen ## Generate deepcopy code.
	$(CONTROLLER_GEN) object paths="./api/..."

.PHONY: fmt
fmt: ## Run gofmt on every Go file.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet in every module (hack/kube, a tools module, is built by envtest-bins).
	@for m in $(TEST_MODULES); do echo "==> go vet $$m"; (cd $$m && go vet ./...) || exit 1; done

.PHONY: lint
lint: golangci-lint ## Run golangci-lint in every module (the root .golangci.yml applies to all).
	@for m in $(TEST_MODULES); do echo "==> golangci-lint $$m"; (cd $$m && $(GOLANGCI_LINT) run ./...) || exit 1; done

.PHONY: verify
verify: manifests generate ## Fail when generated code (CRDs, deepcopy, RBAC, webhooks), formatting or a go.mod is stale.
	@stale=$$(git status --porcelain -- api config); \
	if [ -n "$$stale" ]; then echo "generated files are stale; run 'make manifests generate' and commit:"; echo "$$stale"; git --no-pager diff --stat -- api config; exit 1; fi
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	@for m in $(TEST_MODULES); do \
	  (cd $$m && go mod tidy -diff >/dev/null) || { echo "$$m/go.mod is not tidy; run 'go mod tidy' there and commit:"; (cd $$m && go mod tidy -diff); exit 1; }; \
	done
	@echo "generated code, formatting and go.mod files are up to date"

.PHONY: test
test: deps envtest-bins ## Run every test: unit, fuzz seeds, envtest integration, in every module (test-e2e has the root-only ones).
	@for m in $(TEST_MODULES); do echo "==> go test $$m"; (cd $$m && go test $(GO_TEST_FLAGS) $$(go list ./... | grep -Ev '$(ROOT_PKGS)')) || exit 1; done

.PHONY: test-e2e
test-e2e: deps envtest-bins ## Run the lab's end-to-end suite (test/lab) and the image test (test-images); needs root.
	@if [ "$$(id -u)" != 0 ]; then echo "test-e2e creates network namespaces and must run as root: sudo -E env PATH=\"$$PATH\" make test-e2e"; exit 1; fi
	go test ./test/lab/... -count=1 -timeout 30m
	$(MAKE) test-images

.PHONY: test-race-cores
test-race-cores: ## Run the pure cores' and the enforcer's tests with the race detector (what CI runs).
	go test -race $(GO_TEST_FLAGS) ./pkg/... ./enforcer/...

.PHONY: test-race
test-race: deps envtest-bins ## Run every test of every module with the race detector (the lab suite, which test-e2e runs, aside).
	@for m in $(TEST_MODULES); do echo "==> go test -race $$m"; (cd $$m && go test -race -timeout 40m $(GO_TEST_FLAGS) $$(go list ./... | grep -Ev '$(ROOT_PKGS)')) || exit 1; done

.PHONY: bench
bench: ## Run the benchmarks recorded in docs/benchmarks.md.
	go test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCH_TIME) ./pkg/... ./webhooks/...

.PHONY: bench-webhook
bench-webhook: deps envtest-bins ## Measure webhook latency through the real API server into docs/benchmarks-webhook.md.
	go test ./test/integration/webhook -run '^$$' -bench WebhookLatency -benchtime 1x -timeout 60m -bench-report ../../../docs/benchmarks-webhook.md

.PHONY: bench-enforcer
bench-enforcer: ## Run the enforcer's benchmarks (full sync, change, datapath, memory) in network namespaces of their own; needs root.
	@if [ "$$(id -u)" != 0 ]; then echo "bench-enforcer creates network namespaces and must run as root: sudo -E env PATH=\"$$PATH\" make bench-enforcer"; exit 1; fi
	go test ./enforcer/syncer -run '^$$' -bench . -benchtime 1x -timeout 30m

.PHONY: fuzz
fuzz: ## Run every fuzz target of every module for FUZZ_TIME (default 20s) each, FUZZ_PARALLEL (2) at a time.
	FUZZ_TIME=$${FUZZ_TIME:-20s} hack/fuzz.sh

.PHONY: fuzz-short
fuzz-short: ## Run every fuzz target for 5s, two at a time (CI).
	FUZZ_TIME=5s FUZZ_PARALLEL=2 hack/fuzz.sh

##@ Build

.PHONY: build
build: ## Build every binary into ./bin.
	go build -o $(LOCALBIN)/ ./cmd/...

.PHONY: deploy
deploy: ## Install CRDs, webhooks and the manager into the cluster of the current kubeconfig.
	kubectl apply -k config/default

# helm v4 from test/chart's go.mod (the module that tests the chart), for make demo.
.PHONY: helm
helm: ## Build the helm CLI (helm.sh/helm/v4 of test/chart's go.mod) into ./bin.
	go build -C test/chart -o $(abspath $(LOCALBIN))/helm helm.sh/helm/v4/cmd/helm

.PHONY: demo
demo: demo-root deps envtest-bins build helm ## Run Palisade in a lab on this machine (root): install it with the Helm chart, apply policies, watch them roll out with real packets.
	$(LOCALBIN)/palisade-lab demo --bin-dir $(LOCALBIN) $(DEMO_FLAGS)

.PHONY: demo-root
demo-root:
	@if [ "$$(id -u)" != 0 ]; then echo 'make demo creates network namespaces and must run as root: sudo -E env PATH="$$PATH" make demo'; exit 1; fi

.PHONY: demo-down
demo-down: demo-root build ## Remove what a killed demo or lab run left behind (every pal-lab-* namespace, process and directory).
	$(LOCALBIN)/palisade-lab cleanup

.PHONY: demo-offline
demo-offline: build ## Show the CLI on the examples without a cluster: lint, trace and the connectivity matrix.
	hack/demo.sh

##@ Tools

.PHONY: deps
deps: ## Install the Debian packages the tests need (iptables, ipset, iproute2) if missing.
	hack/install-deps.sh

.PHONY: envtest-bins
envtest-bins: ## Build etcd, kube-apiserver and kubectl v$(KUBE_VERSION) offline into bin/k8s (cached by a stamp).
	hack/envtest-bins.sh

.PHONY: envtest-check
envtest-check:
	@test -x $(KUBEBUILDER_ASSETS)/kube-apiserver -a -x $(KUBEBUILDER_ASSETS)/etcd -a -x $(KUBEBUILDER_ASSETS)/kubectl || \
	  { echo "envtest binaries missing in $(KUBEBUILDER_ASSETS): run 'make envtest-bins'"; exit 1; }

.PHONY: controller-gen
controller-gen: $(LOCALBIN)/.controller-gen-$(CONTROLLER_TOOLS_VERSION)
$(LOCALBIN)/.controller-gen-$(CONTROLLER_TOOLS_VERSION):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	touch $@

.PHONY: golangci-lint
golangci-lint: $(LOCALBIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)
$(LOCALBIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION):
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	touch $@

##@ Packaging

# What charts/palisade copies from config/ (one source of truth; test/chart fails when a copy drifts).
CHART_DIR ?= charts/palisade
CHART_SYNC = config/rbac/role.yaml:files/rbac/role.yaml \
	config/rbac/metrics_reader_role.yaml:files/rbac/metrics_reader_role.yaml \
	config/webhook/manifests.yaml:files/webhook/manifests.yaml \
	config/admissionpolicy/policy-defaults.yaml:files/admissionpolicy/policy-defaults.yaml \
	config/argocd/health.lua:argocd/health.lua \
	config/argocd/argocd-cm.yaml:argocd/argocd-cm.yaml

.PHONY: chart-sync
chart-sync: ## Copy the CRDs, RBAC and webhook rules, admission policy and Argo CD files from config/ into the Helm chart.
	rm -f $(CHART_DIR)/crds/*.yaml
	cp config/crd/bases/*.yaml $(CHART_DIR)/crds/
	@for pair in $(CHART_SYNC); do \
	  src=$${pair%%:*}; dst=$(CHART_DIR)/$${pair#*:}; mkdir -p $$(dirname $$dst); cp $$src $$dst; echo "$$src -> $$dst"; \
	done

# make images: both images as OCI image layouts in IMAGES_DIR, built offline by hack/imagebuild
# (the enforcer's Debian packages come from the build machine's apt, cached in IMAGES_DIR/debs).
# The same commit and packages give the same digests: times are SOURCE_DATE_EPOCH, the commit's.
IMAGES_DIR ?= $(LOCALBIN)/images
IMAGE_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
IMAGE_ARCH ?= $(shell go env GOARCH)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

.PHONY: images
images: ## Build the controller and enforcer images offline as OCI image layouts in IMAGES_DIR (needs apt for the enforcer).
	@mkdir -p $(IMAGES_DIR)
	CGO_ENABLED=0 GOARCH=$(IMAGE_ARCH) go build -trimpath -ldflags '-s -w -X main.version=$(IMAGE_VERSION)' -o $(abspath $(IMAGES_DIR))/ ./cmd/palisade-controller ./cmd/palisade-enforcer
	cd hack/imagebuild && SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) go run . controller --binary $(abspath $(IMAGES_DIR))/palisade-controller --arch $(IMAGE_ARCH) \
	  --version $(IMAGE_VERSION) --revision '$(IMAGE_REVISION)' --out $(abspath $(IMAGES_DIR))/palisade-controller.oci
	cd hack/imagebuild && SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) go run . enforcer --binary $(abspath $(IMAGES_DIR))/palisade-enforcer --arch $(IMAGE_ARCH) \
	  --version $(IMAGE_VERSION) --revision '$(IMAGE_REVISION)' --out $(abspath $(IMAGES_DIR))/palisade-enforcer.oci \
	  --deb-cache $(abspath $(IMAGES_DIR))/debs

.PHONY: test-images
test-images: ## Build the images with make images and check them (config, --version, the enforcer's tools in a chroot, same digest twice); needs root and apt.
	cd hack/imagebuild && go test ./imagetest -count=1 -timeout 30m -v

.PHONY: test-chart
test-chart: envtest-bins ## Test the Helm chart: lint, render, schema, server-side dry run, install and upgrade into envtest.
	cd test/chart && go test $(GO_TEST_FLAGS) ./...
