#!/usr/bin/env bash
# The cold release build, as a fresh clone pays it (budget: 12 min on this 2-core machine, the server at opt-level 3).
#
#   scripts/bench/build.sh            cold `cargo leptos build --release`, wall time
#   scripts/bench/build.sh --timings  the WASM and the server builds one after the other, each
#                                     with cargo's per-crate report (target/…/cargo-timings/),
#                                     to see which crates hold the critical path
#
# Builds in a throwaway target directory; the project's own `target/` stays warm.
set -euo pipefail
cd "$(dirname "$0")/../.."

cold=$(mktemp -d /tmp/cold-build.XXXXXX)
trap 'rm -rf "$cold"' EXIT
export CARGO_TARGET_DIR=$cold
seconds() { date +%s; }

if [[ ${1:-} == --timings ]]; then
    reports=target/bench/build-timings
    mkdir -p "$reports"
    start=$(seconds)
    cargo build --locked --timings --profile wasm-release -p frontend --target wasm32-unknown-unknown
    wasm=$(( $(seconds) - start ))
    start=$(seconds)
    cargo build --locked --timings --release -p server
    server=$(( $(seconds) - start ))
    cp "$cold"/cargo-timings/cargo-timing-*.html "$reports"/
    echo "WASM build: ${wasm} s, server build: ${server} s, one after the other: $(( wasm + server )) s"
    echo "per-crate reports: $reports/"
else
    start=$(seconds)
    cargo leptos build --release
    echo "cold cargo leptos build --release: $(( $(seconds) - start )) s (budget 720 s)"
fi
