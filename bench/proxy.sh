#!/usr/bin/env bash
# Proxy throughput, side by side in one run: balancer vs nginx vs HAProxy, each a single worker,
# in front of the same four backends (nginx answering a small static body), loaded with wrk.
# Usage: bash bench/proxy.sh [seconds=10] [connections=64]
# BALANCER_BEFORE=DIR also runs the balancer built in another checkout (e.g. a worktree of an older
# commit, after its npm ci) in the same run, for before/after figures of a change.
# BALANCER_METRICS=1 also runs ours with the admin listener on (so Prometheus metrics are kept, and
# /metrics is scraped every second during its run, as Prometheus would), for metrics on/off figures.
# ACCESS_LOG=json|combined also runs a second balancer, the same but with its access log on (to a
# file in the temp dir), in the same run: the access log's cost.
# Ours runs with its default engine ("fast"); NODE=1 also runs it with "engine": "node" in the
# same run. Every run includes the ceiling peer (bench/raw-forwarder.ts: a bare Node.js forwarder
# that validates nothing): how fast Node.js forwards at all.
# Needs: wrk, nginx, haproxy (apt-get install -y wrk nginx-light haproxy) and a build (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONN=${2:-64}
source bench/lib.sh
bench_init bench/proxy.sh "apt-get install -y wrk nginx-light haproxy" wrk nginx haproxy

BACK=(19001 19002 19003 19004)
# Backends: one nginx, one worker, four ports, a 13-byte body.
bench_backends 4096

# Peer 1: nginx as the load balancer.
bench_nginx_conf nginx-lb 4096 "$(bench_nginx_upstream)
server { listen 127.0.0.1:18081; location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
nginx -c "$work/nginx-lb.conf" & pids+=($!)

# Peer 2: HAProxy, one thread.
bench_haproxy_cfg "$work/haproxy.cfg" http 4096 127.0.0.1:18082
haproxy -f "$work/haproxy.cfg" -db & pids+=($!)

# Ours.
cat > "$work/balancer.json" <<CONF
{"addr": "127.0.0.1:18083", "algorithm": "round-robin", "servers": [$(bench_servers http)]}
CONF
node dist/src/cli.js start --config "$work/balancer.json" --log-level warn & pids+=($!)
ports=(18081 18082 18083)
if [ -n "${BALANCER_BEFORE:-}" ]; then
  sed 's/18083/18084/' "$work/balancer.json" > "$work/before.json"
  node "$BALANCER_BEFORE/dist/src/cli.js" start --config "$work/before.json" --log-level warn & pids+=($!)
  ports+=(18084)
fi
if [ -n "${ACCESS_LOG:-}" ]; then
  sed "s|18083\",|18087\", \"accessLog\": {\"format\": \"$ACCESS_LOG\", \"path\": \"$work/access.log\"},|" "$work/balancer.json" > "$work/logged.json"
  node dist/src/cli.js start --config "$work/logged.json" --log-level warn & pids+=($!)
  ports+=(18087)
fi

if [ -n "${BALANCER_METRICS:-}" ]; then
  sed 's/"addr": "127.0.0.1:18083",/"addr": "127.0.0.1:18085", "admin": {"addr": "127.0.0.1:18086"},/' "$work/balancer.json" > "$work/metrics.json"
  node dist/src/cli.js start --config "$work/metrics.json" --log-level warn & pids+=($!)
  ports+=(18085)
fi
# The ceiling: a bare raw-socket forwarder (bench/raw-forwarder.ts), how fast Node.js forwards at all.
node dist/bench/raw-forwarder.js 18089 $(for p in "${BACK[@]}"; do printf 'http://127.0.0.1:%s ' "$p"; done) & pids+=($!)
ports+=(18089)
if [ -n "${NODE:-}" ]; then
  sed 's/"addr": "127.0.0.1:18083",/"addr": "127.0.0.1:18088", "engine": "node",/' "$work/balancer.json" > "$work/node.json"
  node dist/src/cli.js start --config "$work/node.json" --log-level warn & pids+=($!)
  ports+=(18088)
fi

for port in "${ports[@]}"; do
  bench_wait "http://127.0.0.1:$port/" || true
done

run() { # name port -> requests/s
  wrk -t1 -c"$CONN" -d2s "http://127.0.0.1:$2/" >/dev/null 2>&1 # warm-up
  local out; out=$(wrk -t1 -c"$CONN" -d"${DUR}s" --latency "http://127.0.0.1:$2/")
  local rps p99; rps=$(wrk_rps <<<"$out"); p99=$(wrk_p99 <<<"$out")
  printf '%-10s %12s req/s   p99 %s\n' "$1" "$rps" "$p99" >&2
  echo "$rps"
}
echo "proxy throughput: wrk -t1 -c$CONN -d${DUR}s, 4 backends, one worker each, $(nproc) cores" >&2
n=$(run nginx 18081); h=$(run haproxy 18082); b=$(run balancer 18083); c=$(run ceiling 18089)
awk -v b="$b" -v n="$n" -v h="$h" -v c="$c" 'BEGIN { printf "ratio balancer/nginx %.2f, balancer/haproxy %.2f, balancer/ceiling %.2f, ceiling/nginx %.2f\n", b/n, b/h, b/c, c/n }'
if [ -n "${BALANCER_BEFORE:-}" ]; then
  o=$(run before 18084)
  awk -v b="$b" -v o="$o" -v n="$n" 'BEGIN { printf "ratio before/nginx %.2f; balancer/before %.2f\n", o/n, b/o }'
fi
if [ -n "${BALANCER_METRICS:-}" ]; then
  ( while sleep 1; do curl -sf http://127.0.0.1:18086/metrics >/dev/null || true; done ) & scraper=$!; pids+=($scraper)
  # Interleaved (off, on, off, on) so the machine's drift does not favour either.
  m=$(run metrics 18085); b2=$(run balancer 18083); m2=$(run metrics 18085)
  kill "$scraper" 2>/dev/null || true
  lines=$(curl -sf http://127.0.0.1:18086/metrics | grep -c '^balancer_requests_total' || true)
  awk -v b="$b" -v b2="$b2" -v m="$m" -v m2="$m2" -v l="$lines" 'BEGIN { printf "metrics off %.0f req/s, on %.0f req/s (means of two runs each): ratio on/off %.3f (%d balancer_requests_total series)\n", (b+b2)/2, (m+m2)/2, (m+m2)/(b+b2), l }'
fi
if [ -n "${NODE:-}" ]; then
  o=$(run node 18088)
  awk -v b="$b" -v o="$o" -v n="$n" 'BEGIN { printf "ratio node engine/nginx %.2f; balancer (fast)/node engine %.2f\n", o/n, b/o }'
fi
if [ -n "${ACCESS_LOG:-}" ]; then
  l=$(run "+log" 18087)
  echo "access log ($ACCESS_LOG): $(wc -l < "$work/access.log") lines, $(du -h "$work/access.log" | cut -f1)" >&2
  awk -v b="$b" -v l="$l" 'BEGIN { printf "ratio with access log/without %.2f\n", l/b }'
fi
