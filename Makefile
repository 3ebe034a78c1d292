# CQRS Lab: `make lab` installs everything and opens JupyterLab on a running
# stack; `make test` runs every test on a throwaway stack. See README.md.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab install system-deps up down test bench clean

lab: install
	$(BIN)/cqrs-lab up
	$(BIN)/jupyter lab --notebook-dir=. notebooks/00-start-here.ipynb $(if $(filter 0,$(shell id -u)),--allow-root,)

install: system-deps $(STAMP)

# Java 17, Maven and PostgreSQL's binaries; installed with apt-get when
# missing on Debian or Ubuntu, otherwise named so you can install them.
system-deps:
	@bash infra/system-deps.sh

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "CQRS Lab needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[lab,test]"
	touch $(STAMP)

up: install
	$(BIN)/cqrs-lab up

down:
	$(BIN)/cqrs-lab down

test: install
	@bash infra/system-deps.sh --test
	@bash tests/run.sh

bench: install
	$(BIN)/pip install --quiet -e ".[bench]"
	@bash bench/run.sh

clean:
	rm -rf $(VENV) *.egg-info
