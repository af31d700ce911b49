#!/usr/bin/env bash
# Runs Azurite (blob 10000, queue 10001, table 10002 on 127.0.0.1) with data in ./data/azurite, in the foreground.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/install.sh"
mkdir -p "$here/../../data/azurite"
exec "$here/node_modules/.bin/azurite" --disableTelemetry --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 --location "$here/../../data/azurite"
