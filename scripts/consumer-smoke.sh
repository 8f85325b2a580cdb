#!/usr/bin/env bash
# Packs the library and uses it from a fresh ESM project, with only the required peer dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
tarball="$PWD/$(npm pack --silent | tail -n 1)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir" "$tarball"' EXIT
cp scripts/consumer-smoke/app.mjs "$dir/"
cd "$dir"
echo '{ "name": "consumer-smoke", "private": true, "type": "module" }' > package.json
nest="${NEST_RANGE:-^12.5}"
echo "consumer smoke with NestJS $nest"
npm install --no-audit --no-fund --silent "$tarball" "@nestjs/common@$nest" "@nestjs/core@$nest" "@nestjs/platform-express@$nest" reflect-metadata@^0.2 rxjs@^7.8
node app.mjs
