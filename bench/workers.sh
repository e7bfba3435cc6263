#!/usr/bin/env bash
# Workers: how they share the listening port. Balancer with "workers": 2, each way in turn
# (BALANCER_WORKERS_LISTEN=reuseport: every worker binds its own SO_REUSEPORT socket and the
# kernel spreads connections; round-robin: node:cluster's primary accepts and hands connections
# out), in front of the same nginx backends, loaded with wrk; prints req/s, p99 and how the
# client connections spread over the workers (ss, sampled mid-run).
# Usage: bash bench/workers.sh [seconds=5] [connections=64] [runs=2]
# Needs: wrk, nginx, ss (iproute2) and a build (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5}
CONN=${2:-64}
RUNS=${3:-2}
for t in wrk nginx ss; do command -v $t >/dev/null || { echo "bench/workers.sh: needs $t"; exit 2; }; done
[ -f dist/src/cli.js ] || npm run build >/dev/null
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

BACK=(18711 18712)
PORT=18710
cat > "$work/backend.conf" <<CONF
daemon off; worker_processes 1; pid $work/backend.pid; error_log $work/backend.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
$(for p in "${BACK[@]}"; do echo "server { listen 127.0.0.1:$p; location / { return 200 \"hello from $p\"; } }"; done)
}
CONF
nginx -c "$work/backend.conf" & pids+=($!)
cat > "$work/balancer.json" <<CONF
{ "addr": "127.0.0.1:$PORT", "workers": 2, "healthCheck": { "enabled": false },
  "servers": [$(for p in "${BACK[@]}"; do printf '{ "addr": "http://127.0.0.1:%s" },' "$p"; done | sed 's/,$//')] }
CONF
sleep 0.3

printf '%-12s %4s %10s %9s  %s\n' mode run req/s p99 'connections per worker (pid:count)'
for mode in reuseport round-robin; do
  BALANCER_WORKERS_LISTEN=$mode node dist/src/cli.js start --config "$work/balancer.json" > "$work/$mode.log" 2>&1 &
  bp=$!; pids+=($bp)
  # Every worker listens once the primary says how many serve.
  for _ in $(seq 100); do grep -q 'workers serve clients' "$work/$mode.log" && break; sleep 0.1; done
  workers=$(pgrep -P $bp | tr '\n' ' ')
  [ -n "$workers" ] || { echo "bench/workers.sh: the balancer did not start:"; cat "$work/$mode.log"; exit 1; }
  for run in $(seq "$RUNS"); do
    wrk -t1 -c"$CONN" -d"${DUR}s" --latency "http://127.0.0.1:$PORT/" > "$work/wrk.txt" &
    wp=$!
    sleep $((DUR / 2))
    spread=""
    for w in $workers; do
      n=$(ss -tnpH state established "( sport = :$PORT )" 2>/dev/null | grep -c "pid=$w," || true)
      spread="$spread $w:$n"
    done
    wait $wp
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    printf '%-12s %4s %10s %9s %s\n' "$mode" "$run" "$rps" "$p99" "$spread"
  done
  kill $bp; wait $bp 2>/dev/null || true
done
