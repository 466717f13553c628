# The README's two commands: `make demo` and `make test`. Each builds .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
.DEFAULT_GOAL := help

.PHONY: help demo test lint typecheck synth check bench lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The local stack is built from the synthesized template; the dependency layer is not needed for it.
demo: $(STAMP) ## the whole system on moto, from upload to grounded tool results
	npm ci --no-audit --no-fund
	TOOLGATE_SKIP_LAYER_BUILD=1 JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx cdk synth --quiet
	$(BIN)/python -m toolgate_demo

test: $(STAMP) ## every test (-n 2)
	$(BIN)/pytest -n 2 -q

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

# `cdk synth` runs cdk-nag's AwsSolutions checks; cfn-lint then checks the template.
synth: $(STAMP) ## cdk synth with cdk-nag, then cfn-lint
	npm ci --no-audit --no-fund
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx cdk synth --quiet
	$(BIN)/cfn-lint cdk.out/*.template.json

check: lint typecheck synth test ## lint, typecheck, synth and test, as CI does

bench: $(STAMP) ## the compiler benchmark
	$(BIN)/python bench/compile.py

# The dependency layer installs exactly this lock (hashes required) for Lambda's Python and CPU.
lock: $(STAMP) ## recompile layers/requirements.lock from pyproject.toml's runtime dependencies
	$(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.12 \
		--python-platform aarch64-manylinux_2_28 --no-build --custom-compile-command "make lock" \
		-o layers/requirements.lock

clean: ## remove the venv, caches and build output
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out build node_modules
