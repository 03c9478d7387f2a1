#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the tests and prints the connection string on stdout.
# Installs PostgreSQL from the Debian packages if it is missing. The cluster runs as a non-root user (PostgreSQL refuses
# root) in a temp folder; stop it with: .ci/postgres.sh stop <folder>  (the folder is printed on stderr).
# Usage: export MM_POSTGRES="$(.ci/postgres.sh)"
set -euo pipefail

if [[ "${1:-}" == "stop" ]]; then
  folder="$2"
  bin="$(cat "$folder/bin")"
  if [[ "$(id -u)" == "0" ]]; then runuser -u postgres -- "$bin/pg_ctl" -D "$folder/data" -m immediate stop >/dev/null 2>&1 || true
  else "$bin/pg_ctl" -D "$folder/data" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$folder"
  exit 0
fi

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
bin="$(find_bin)"
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
  echo "PostgreSQL is missing; installing it from the Debian packages…" >&2
  if [[ "$(id -u)" == "0" ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
  bin="$(find_bin)"
fi

folder="$(mktemp -d /tmp/mm-postgres.XXXXXX)"
echo "$bin" > "$folder/bin"
port="${MM_POSTGRES_PORT:-$(( 20000 + RANDOM % 20000 ))}"
run() { if [[ "$(id -u)" == "0" ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ "$(id -u)" == "0" ]]; then chown postgres "$folder"; fi

run "$bin/initdb" -D "$folder/data" -A trust -U mm --no-sync -E UTF8 >"$folder/initdb.log" 2>&1 || { cat "$folder/initdb.log" >&2; exit 1; }
run "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $folder -c max_connections=200" start >&2 \
  || { cat "$folder/server.log" >&2; exit 1; }

echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (folder $folder)" >&2
echo "Host=127.0.0.1;Port=$port;Username=mm;Database=postgres;Pooling=true;Include Error Detail=true"
