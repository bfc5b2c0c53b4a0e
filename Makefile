# kubevirt-evacuator: every entry point people and CI use. Node 24 and all Go-built bed binaries are
# fetched or built by the project's own scripts into git-ignored folders and caches.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/node_modules/.bin:$(CURDIR)/.bed/bin:$(PATH)

NODE_DEPS := node_modules/.deps-installed
ARGS ?=

.PHONY: help deps build lint format typecheck unit e2e test bed-up bed-down bed-status run demo bench clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.tools/bin/node: scripts/ensure-node.sh
	@bash scripts/ensure-node.sh

$(NODE_DEPS): package.json package-lock.json .tools/bin/node
	npm ci --no-audit --no-fund
	@touch $@

deps: $(NODE_DEPS) ## Install Node 24 (if the machine's is older) and the npm dependencies.

build: deps ## Compile the operator to dist/.
	tsc -p tsconfig.build.json

lint: deps ## ESLint and Prettier.
	eslint .
	prettier --check .

format: deps ## Rewrite files with Prettier.
	prettier --write .

typecheck: deps ## Strict TypeScript over src/, e2e/ and bench/.
	tsc -p tsconfig.json --noEmit

unit: deps ## Unit tests (no cluster).
	mocha 'src/**/*.test.ts' 'e2e/bed/**/*.test.ts'

e2e: deps ## Bring up the local test bed, run the e2e specs on it, tear it down.
	bash e2e/run.sh $(ARGS)

test: lint typecheck unit e2e ## Everything CI runs: lint, typecheck, unit and e2e.

bed-up: deps ## Start the local test bed (builds it on first use); kubeconfig in .bed/kubeconfig.
	node e2e/bed/cli.ts up $(ARGS)

bed-down: deps ## Stop the local test bed and every process it started.
	node e2e/bed/cli.ts down

bed-status: deps ## Show the bed's components and nodes.
	node e2e/bed/cli.ts status

run: deps ## Run the operator against the current kubeconfig (ARGS='--leader-elect ...').
	node src/cmd/operator.ts $(ARGS)

demo: deps ## Bring up the bed with running VMs and show how to use it.
	node e2e/demo.ts $(ARGS)

bench: deps ## Benchmarks on the bed; results land in bench/results/.
	node bench/run.ts $(ARGS)

clean: ## Remove build output (not the bed's build cache).
	rm -rf dist
