# The README's two commands: `make demo` and `make test`. Each builds .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck synth check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The local stack is built from the synthesized template; the dependency layer is not needed for it.
demo: $(STAMP)
	npm ci --no-audit --no-fund
	TOOLGATE_SKIP_LAYER_BUILD=1 JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx cdk synth --quiet
	$(BIN)/python -m toolgate.demo

test: $(STAMP)
	$(BIN)/pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# `cdk synth` runs cdk-nag's AwsSolutions checks; cfn-lint then checks the template.
synth: $(STAMP)
	npm ci --no-audit --no-fund
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx cdk synth --quiet
	$(BIN)/cfn-lint cdk.out/*.template.json

check: lint typecheck synth test

bench: $(STAMP)
	$(BIN)/python bench/compile.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out build node_modules
