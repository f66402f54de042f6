# The two commands a new user needs are `make up` and `make test`; each sets
# up whatever is missing first (see scripts/setup.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help setup up preview test test-fast bench destroy postgres registry-gc spark ray ray-stop

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup:  ## install and start what is missing (venv, Pulumi, Docker, registry, BuildKit, base image)
	@./scripts/setup.sh

up: setup  ## pulumi up of the quickstart on the local dev stack, then its outputs
	@./scripts/up.sh

preview: setup  ## pulumi preview --diff of the quickstart
	@source scripts/env.sh && pulumi preview --diff --stack dev

test: setup  ## ruff, mypy and the whole test suite (both tiers)
	@./scripts/test.sh

test-fast:  ## ruff, mypy and the fast tier: no Docker, BuildKit, registry or Pulumi CLI needed
	@./scripts/setup-python.sh
	@MLENV_FAST_ONLY=1 ./scripts/test.sh

spark: setup  ## a local Spark cluster (master spark://127.0.0.1:7077 + a worker), compute target spark-local
	@./scripts/setup-spark.sh

ray: setup  ## a local 2-node Ray cluster in a namespace of its own (Jobs API http://127.0.0.1:8265), compute target ray-local
	@./scripts/setup-ray.sh

ray-stop:  ## stop the cluster of `make ray` (its namespace, the bridge) and remove its session folders
	@./scripts/ray-stop.sh

bench: setup  ## the benchmarks in benchmarks/ (tables of ratios; BENCH_ARGS=--quick for a smoke run)
	@source scripts/env.sh && for b in benchmarks/bench_*.py; do echo "== $$b"; python "$$b" $(BENCH_ARGS) || exit 1; done

destroy: setup  ## pulumi destroy of the dev stack
	@source scripts/env.sh && pulumi destroy --yes --stack dev

postgres:  ## start a local PostgreSQL (127.0.0.1:5433) and print its workspace URL
	@./scripts/setup-postgres.sh

registry-gc:  ## reclaim the space of manifests `mlenv gc` deleted from the local registry
	@./scripts/registry-gc.sh
