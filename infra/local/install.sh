#!/usr/bin/env bash
# Installs what the tests and the scale-out mode use: Azurite (npm, pinned by
# package-lock.json), the PostgreSQL server binaries and python3-onnx (Debian; the ONNX writer's independent
# checker), and chromium (Debian; the browser tests drive it). Idempotent and quiet when done before.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [ ! -x "$here/node_modules/.bin/azurite" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  if ! command -v npm >/dev/null; then
    echo "npm is missing: installing Node.js from Debian" >&2
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "Installing Azurite (infra/local/package-lock.json)…" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "PostgreSQL server binaries are missing: installing them from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

if ! /usr/bin/python3 -c "import onnx" >/dev/null 2>&1; then
  echo "python3-onnx (the ONNX reference checker the Labeling.Onnx tests run) is missing: installing it from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-onnx >/dev/null
fi

# render draws box labels with a system font (SkiaSharp's bundled natives have none).
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  echo "DejaVu fonts are missing: installing fonts-dejavu-core from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null
fi

# The browser tests (tests/Labeling.Server.Tests/Browser) drive Debian's chromium headless through
# Playwright's driver; Playwright never downloads a browser of its own.
if [ ! -x /usr/bin/chromium ]; then
  echo "chromium (the browser the review page and dashboard tests drive) is missing: installing it from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
