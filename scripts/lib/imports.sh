#!/usr/bin/env bash
# The import graph between the app's feature modules: one line "from -> to" for each pair where
# code under app/src/<from>/ (or app/src/<from>.rs) names crate::<to> (comments left out), then
# whether the graph has a cycle (tsort). The shared infrastructure every feature may use — db,
# state, error, http, ui, render — and the app shell on top (lib, shell) are not features.
# Usage: scripts/lib/imports.sh [source dir, default app/src]
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-app/src}
not_features=' db state error http ui render shell lib '

edges=$(
  find "$src" -name '*.rs' | while read -r file; do
    rel=${file#"$src"/}
    from=${rel%%/*}
    from=${from%.rs}
    grep -vE '^\s*//' "$file" | grep -oE 'crate::[a-z_]+' | sed 's/crate:://' | sort -u |
      while read -r to; do
        if [ "$to" != "$from" ] && [[ $not_features != *" $from "* ]] && [[ $not_features != *" $to "* ]]; then
          echo "$from $to"
        fi
      done
  done | sort -u
)
echo "$edges" | awk 'NF { print $1 " -> " $2 }'
# tsort reads "before after" pairs and reports every loop on stderr.
loops=$(echo "$edges" | tsort 2>&1 >/dev/null || true)
if [ -n "$loops" ]; then
  echo "import cycle between feature modules:"
  echo "$loops"
  exit 1
fi
echo "no import cycle between feature modules"
