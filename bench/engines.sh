#!/usr/bin/env bash
# Issue 11's benchmark in one command: Balancer (node and fast engines, 1 worker and auto), nginx
# (1 worker and auto), HAProxy (1 and 2 threads), node-http-proxy and a bare node:http + undici
# proxy, side by side against the same nginx backends; wrk at 64 and 512 connections, a tiny and a
# 64 KiB response; a table with ratios and a PASS/FAIL line per Balancer target. See bench/engines.ts.
# Usage: bash bench/engines.sh [seconds=5] [--rounds N=2]     bash bench/engines.sh --quick (a smoke)
# Needs: wrk, nginx, haproxy (apt-get install -y wrk nginx-light haproxy) and npm ci (builds if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/bench/engines.js ] && [ -f dist/src/cli.js ] || npm run build >/dev/null
exec node dist/bench/engines.js "$@"
