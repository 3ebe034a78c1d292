#!/usr/bin/env bash
# Makes sure Java 17+, Maven and PostgreSQL's server binaries are present,
# and with --test also Chromium and its driver for the dashboard's browser
# test. On Debian/Ubuntu as root it installs what is missing with apt-get;
# elsewhere it names what to install and stops.
set -euo pipefail

missing=()
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fi
java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local major
  major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ "${major:-0}" -ge 17 ]
}
pg_ok() {
  command -v initdb >/dev/null 2>&1 && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

java_ok || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
pg_ok || missing+=(postgresql)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "Installing ${missing[*]} with apt-get..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  exit 0
fi
echo "CQRS Lab needs: ${missing[*]}" >&2
echo "Install them with your package manager (Debian/Ubuntu: sudo apt-get install ${missing[*]})," >&2
echo "or use conda: conda env create -f environment.yml" >&2
exit 1
