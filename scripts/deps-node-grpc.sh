#!/usr/bin/env bash
# The Node.js gRPC client the lab tests run against Sluice's Hubble API (e2e/src/test/node):
# @grpc/grpc-js and @grpc/proto-loader from the npm registry into build/node-grpc (or $1).
# Without node and npm it does nothing: the test that needs them is skipped.
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/node-grpc}
command -v npm >/dev/null && command -v node >/dev/null || { echo "deps-node-grpc: no node/npm, the Node.js gRPC client test will be skipped" >&2; exit 0; }
[ -d "$dir/node_modules/@grpc/grpc-js" ] && [ -d "$dir/node_modules/@grpc/proto-loader" ] && exit 0
mkdir -p "$dir"
npm install --silent --no-audit --no-fund --prefix "$dir" @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1 >&2
