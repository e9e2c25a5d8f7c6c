# Sluice: make targets double as documentation. The two that matter:
#   make demo   - install, build, start services, generate tweets, run the host, print answers
#   make test   - every test, against real Kafka and ClickHouse (what .ci/run calls)

CARGO ?= cargo
JOBS ?= 2
WORKLOAD ?= tweets
PLUGINS := $(notdir $(wildcard plugins/*))
PLUGIN_FLAGS := $(addprefix -p ,$(PLUGINS))
WASM_DIR := target/wasm32-wasip2/release
export CARGO_TERM_COLOR ?= never

.PHONY: help deps build plugins services services-down schema demo test lint fmt bench chaos component clean

help: ## List the targets and what each does
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /\1\t/' | awk -F'\t' '{ printf "  %-14s %s\n", $$1, $$2 }'


deps: ## Install what a fresh machine lacks (Debian packages, wasm target, Python checks)
	bash scripts/install-deps.sh

build: ## Build the host binary (release)
	$(CARGO) build --release -j$(JOBS) -p sluice-host

plugins: ## Build every plugin as a WebAssembly component
	$(CARGO) build --release -j$(JOBS) --target wasm32-wasip2 $(PLUGIN_FLAGS)

services: ## Start Kafka and ClickHouse on localhost
	bash scripts/services.sh up

services-down: ## Stop Kafka and ClickHouse
	bash scripts/services.sh down

schema: services ## Create the tables of sql/ in the default database
	bash scripts/schema.sh

demo: deps build plugins services schema ## The main job: 10,000 tweets through the sentiment plugin (status page address printed; HOLD=1 keeps it up), then the answers (WORKLOAD=clickstream|clickstream_agg|platform for the others)
	WORKLOAD=$(WORKLOAD) bash scripts/demo.sh

test: deps services plugins ## Every test: unit, runtime (real .wasm), integration (real services), SQL on both servers
	bash scripts/test.sh

lint: ## Formatting and clippy, as every commit must pass them
	$(CARGO) fmt --all --check
	$(CARGO) clippy -j$(JOBS) --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: build plugins services ## Pipeline throughput: sentiment chain against passthrough, same run
	bash scripts/bench.sh

chaos: services ## Chaos suite at full size (host kill -9 x20, rebalance storm, ClickHouse and Kafka outages, poison, hostile plugins); prints the table
	CARGO="$(CARGO)" JOBS=$(JOBS) bash scripts/chaos.sh

component: ## Prove the `cargo component build` path (installs cargo-component once, cached)
	bash scripts/component.sh

clean: ## Remove build output
	$(CARGO) clean
