#!/usr/bin/env bash
# Runs every test from a fresh clone. Installs what the tests need first (Azurite from npm,
# PostgreSQL server binaries from Debian if missing); the tests start and stop the servers themselves.
# Extra arguments go to `dotnet test` (for example: ./test.sh --filter "FullyQualifiedName~Postgres").
set -euo pipefail
cd "$(dirname "$0")"
infra/local/install.sh
rm -rf tests/*/TestResults
dotnet test Labeling.sln --logger trx --blame-hang-timeout 5m "$@"
