#!/usr/bin/env bash
# WIT -> TypeScript types (jco), TypeScript -> JavaScript (tsc), JavaScript ->
# component (componentize-js) without wasi:http: a guest gets no network. The
# tools are the TypeScript seed's (guests/lambda-error-pagerduty-ts, installed
# from its lock file by scripts/build-guests): one pinned toolchain for the
# repository's TypeScript guests. Output: $1 (a .wasm path).
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
tools=$(realpath ../lambda-error-pagerduty-ts/node_modules/.bin)
rm -rf build types && mkdir -p build
cp -r ../../wit build/wit
(cd build && "$tools/jco" types wit --world-name guest -o ../types -q)
"$tools/tsc" -p .
(cd build && "$tools/componentize-js" app.js --wit wit -n guest -o "$out" -d http -d fetch-event)
