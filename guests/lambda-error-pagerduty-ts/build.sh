#!/usr/bin/env bash
# WIT -> TypeScript types (jco), TypeScript -> JavaScript (tsc), JavaScript ->
# component (componentize-js, SpiderMonkey) without wasi:http (-d http -d
# fetch-event): a guest gets no network. Output: $1 (a .wasm path).
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
rm -rf build types && mkdir -p build
# jco and componentize-js read WIT relative to the working directory only.
cp -r ../../wit build/wit
(cd build && npx --no-install jco types wit --world-name guest -o ../types -q)
npx --no-install tsc -p .
(cd build && npx --no-install componentize-js app.js --wit wit -n guest -o "$out" -d http -d fetch-event)
