#!/usr/bin/env bash
# Starts a local PostgreSQL for development in ./data/postgres on 127.0.0.1:${PGPORT:-55432}
# (initialised on first use) and prints the connection string. Stop it with: infra/local/stop-postgres.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)/data/postgres"
port="${PGPORT:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_pg=(); [ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
mkdir -p "$root"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$root"
if [ ! -f "$root/PG_VERSION" ]; then
  "${as_pg[@]}" "$bin/initdb" -D "$root" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
fi
"${as_pg[@]}" "$bin/pg_ctl" -D "$root" -l "$root/server.log" -o "-p $port -k $root -c listen_addresses=127.0.0.1" -w start >/dev/null
echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
