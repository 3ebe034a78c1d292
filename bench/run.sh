#!/usr/bin/env bash
# Runs every benchmark and prints its figures. All but the start-up
# benchmark need the lab up (`cqrs-lab up`); the start-up benchmark runs a
# stack of its own. The dashboard benchmark leaves 10,000 synthetic traces
# in the collector; the soak takes ten minutes and kills parts of the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python bench/startup.py
.venv/bin/python bench/saga.py "$@"
.venv/bin/python bench/tracing.py --rate 5
.venv/bin/python bench/tail.py
.venv/bin/python bench/dashboard.py
.venv/bin/python bench/replay.py
.venv/bin/python bench/lessons.py
.venv/bin/python bench/soak.py
