#!/usr/bin/env bash
# Installs what building (and, with `test`, testing) the console needs, skipping what is present.
# Everything comes from package registries: rustup, crates.io, npm, Debian.
#
#   scripts/setup.sh        build tools: wasm target, cargo-leptos, wasm-bindgen, npm packages
#   scripts/setup.sh test   the above plus Chromium, PostgreSQL and wrk for the tests
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
# The CLI must match the library exactly; read it from the lock file.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes on 2 cores)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes)"
  # Not --locked: its lock file wants a crate version the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

if ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi

# Tailwind CSS, wasm-opt (binaryen) and Playwright; cargo-leptos finds node_modules/.bin itself.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = "test" ]; then
  apt_install chromium postgresql wrk curl python3 python3-venv openssl haproxy
  # The SMTP sink the tests deliver to (server/tests/fixtures/smtp_sink.py) and Schemathesis, which fuzzes the
  # REST API (scripts/lib/schemathesis.sh), and moto, the S3-compatible archive store of the tests
  # (scripts/lib/s3.sh): every package pinned in scripts/lib/test-requirements.txt.
  if ! .venv/bin/pip freeze --disable-pip-version-check 2>/dev/null | sort | cmp -s - <(sort scripts/lib/test-requirements.txt); then
    say "installing aiosmtpd, schemathesis and moto into .venv (scripts/lib/test-requirements.txt)"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/lib/test-requirements.txt
  fi
fi
