# The README's two commands: `make demo` and `make test`. Each builds .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
.DEFAULT_GOAL := help
# The test suites, one directory each under tests/ (tests/README.md); tests/conftest.py marks each test with its own.
SUITES := unit integration service e2e infra corpus
# Where mypy finds the code when it checks the tests.
CODE_PATH := layers:cli:devtools:.

.PHONY: help demo test $(SUITES) lint typecheck synth check bench lock clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

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

unit: ## tests/unit: in memory only
integration: ## tests/integration: real HTTP servers on 127.0.0.1
service: ## tests/service: the handlers on moto (mock_aws)
e2e: ## tests/e2e: local stacks over HTTP
infra: ## tests/infra: the synthesized CDK template
corpus: ## tests/corpus: every spec in ../shared/corpus (skipped when absent)
$(SUITES): $(STAMP)
	$(BIN)/pytest -n 2 -q -m $@

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The tests are checked one suite at a time: the suites are not packages and each has its own conftest.py.
# A suite imports its own helpers by their short name (`from service_harness import ...`); runtime_servers,
# which other suites share too, is imported as tests.integration.runtime_servers everywhere, so that suite
# is checked with the repository root as its package base.
typecheck: $(STAMP) ## mypy --strict on the code, then on each test suite
	$(BIN)/mypy
	@for suite in $(filter-out integration,$(SUITES)); do \
		echo "mypy tests/$$suite"; \
		MYPYPATH=tests/$$suite:$(CODE_PATH) $(BIN)/mypy tests/$$suite || exit 1; \
	done
	MYPYPATH=$(CODE_PATH) $(BIN)/mypy --explicit-package-bases tests/integration

# `cdk synth` runs cdk-nag's AwsSolutions checks; cfn-lint then checks the template.
synth: $(STAMP) ## cdk synth with cdk-nag, then cfn-lint
	npm ci --no-audit --no-fund
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx cdk synth --quiet
	$(BIN)/cfn-lint cdk.out/*.template.json

check: lint typecheck synth test ## lint, typecheck, synth and test, as CI does

bench: $(STAMP) ## the compiler benchmark
	$(BIN)/python bench/compile.py

# Each dependency layer installs exactly its lock (hashes required) for Lambda's Python and CPU: the full
# one pyproject.toml's runtime dependencies, the slim one (request path) the same without the compile-time
# ones (infra.layers.slim_requirements).
UV_LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.12 \
	--python-platform aarch64-manylinux_2_28 --no-build --custom-compile-command "make lock"
lock: $(STAMP) ## recompile the layers' locks (full, slim, search) from pyproject.toml
	$(UV_LOCK) pyproject.toml -o layers/requirements.lock
	$(BIN)/python -m infra.layers slim-requirements | $(UV_LOCK) - -o layers/requirements-slim.lock
	# The search function's layer: every package listed on purpose (--no-deps keeps huggingface-hub out).
	$(UV_LOCK) --no-deps layers/search-requirements.in -o layers/search-requirements.lock

clean: ## remove the venv, caches and build output
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out build node_modules
