#!/usr/bin/env bash
# Runs every test on a throwaway stack: its own state folder and ports, so
# a lab you have running is left alone. The stack is stopped even when
# tests fail.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

# The full run lints and type-checks first: seconds, so a slip fails before
# the stack takes minutes to start. Running chosen test files skips this.
if [ $# -eq 0 ]; then
  static=0
  $BIN/ruff check services cqrs_lab tests bench || static=1
  $BIN/mypy services cqrs_lab || static=1
  [ "$static" -eq 0 ] || exit 1
fi

export CQRS_LAB_STATE_DIR="${CQRS_LAB_STATE_DIR:-$(mktemp -d /tmp/cqrs-lab-test.XXXXXX)}"
# PostgreSQL runs as an unprivileged user when we are root: let it in.
chmod 755 "$CQRS_LAB_STATE_DIR"
export CQRS_LAB_GATEWAY_PORT=13005 CQRS_LAB_ORDERS_PORT=13001
export CQRS_LAB_PAYMENTS_PORT=13002 CQRS_LAB_INVENTORY_PORT=13003
export CQRS_LAB_TRACES_PORT=18080 CQRS_LAB_DASHBOARD_PORT=13000
export CQRS_LAB_KAFKA_PORT=19092 CQRS_LAB_KAFKA_CONTROLLER_PORT=19093
export CQRS_LAB_POSTGRES_PORT=15432

stop_stack() {
  $BIN/cqrs-lab reset --yes
}
trap stop_stack EXIT

$BIN/cqrs-lab up || exit 1
# The lessons run as notebook tests (nbval); fault injection restarts parts
# of the stack, so it runs after everything else.
if [ $# -eq 0 ]; then
  set -- tests/unit tests/notebooks tests/integration tests/e2e tests/fuzz \
    notebooks tests/faults
fi
$BIN/python -m pytest --nbval-lax \
  --nbval-sanitize-with tests/notebooks/sanitize.cfg "$@"
