#!/usr/bin/env bash
# WIT -> types (jco), TypeScript -> JavaScript (tsc), JavaScript -> component
# (componentize-js, without wasi:http: guests get no network) at dist/{{name}}.wasm.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf build types && mkdir -p build dist
cp -r wit build/wit   # jco and componentize-js read WIT relative to the cwd only
(cd build && npx --no-install jco types wit --world-name guest -o ../types -q)
npx --no-install tsc -p .
(cd build && npx --no-install componentize-js app.js --wit wit -n guest -o ../dist/{{name}}.wasm -d http -d fetch-event)
