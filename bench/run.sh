#!/usr/bin/env bash
# Runs every benchmark and prints its figures. The saga benchmark needs the
# lab up (`cqrs-lab up`); the start-up benchmark runs a stack of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python bench/startup.py
.venv/bin/python bench/saga.py "$@"
.venv/bin/python bench/tracing.py
.venv/bin/python bench/replay.py
.venv/bin/python bench/soak.py
