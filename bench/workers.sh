#!/usr/bin/env bash
# Workers: how they share the listening port. Balancer with "workers": 1 (one process), and with
# "workers": 2 each way (BALANCER_WORKERS_LISTEN=reuseport: every worker binds its own SO_REUSEPORT
# socket and the kernel spreads connections; round-robin: node:cluster's primary accepts and
# hands connections out), all three running at once in front of the same nginx backends and loaded
# in turn with wrk (runs interleaved, so a noisy machine hurts each alike). Prints req/s, p99, the
# requests each worker served in the run (admin API) and how the client connections spread over
# the processes serving them (ss, sampled mid-run).
# Usage: bash bench/workers.sh [seconds=5] [connections=64] [runs=2]
# CLOSE=1: every request on a new connection (Connection: close), where handing out connections
# costs the most.
# Needs: wrk, nginx, ss (iproute2) and a build (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5}
CONN=${2:-64}
RUNS=${3:-2}
source bench/lib.sh
bench_init bench/workers.sh "" wrk nginx ss curl

BACK=(18711 18712)
MODES=(one-process reuseport round-robin)
declare -A PORT=([one-process]=18720 [reuseport]=18721 [round-robin]=18722)
declare -A ADMIN=([one-process]=18730 [reuseport]=18731 [round-robin]=18732)
bench_backends 4096
servers=$(bench_servers http)

# Requests each worker reported (admin API), space-separated; with one process, its servers' total.
served() {
  curl -s "http://127.0.0.1:${ADMIN[$1]}/api/servers" | node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const b = JSON.parse(s);
      console.log((b.workers ?? [{ requests: b.servers.reduce((n, x) => n + x.requests, 0) }]).map((w) => w.requests).join(" "));
    });'
}

declare -A SERVING
for mode in "${MODES[@]}"; do
  n=2; ready='workers serve clients'
  [ "$mode" = one-process ] && { n=1; ready='listening on'; }
  cat > "$work/$mode.json" <<CONF
{ "addr": "127.0.0.1:${PORT[$mode]}", "workers": $n, "admin": { "addr": "127.0.0.1:${ADMIN[$mode]}" },
  "healthCheck": { "enabled": false }, "servers": [$servers] }
CONF
  BALANCER_WORKERS_LISTEN=$mode node dist/src/cli.js start --config "$work/$mode.json" > "$work/$mode.log" 2>&1 &
  bp=$!; pids+=($bp)
  # Every worker listens once the primary says how many serve.
  for _ in $(seq 100); do grep -q "$ready" "$work/$mode.log" && break; sleep 0.1; done
  if [ "$mode" = one-process ]; then SERVING[$mode]=$bp; else SERVING[$mode]=$(pgrep -P $bp | tr '\n' ' '); fi
  [ -n "${SERVING[$mode]}" ] || { echo "bench/workers.sh: the $mode balancer did not start:"; cat "$work/$mode.log"; exit 1; }
done

printf '%-12s %4s %10s %9s  %-20s %s\n' mode run req/s p99 'requests per worker' 'connections mid-run (pid:count)'
for run in $(seq "$RUNS"); do
  for mode in "${MODES[@]}"; do
    port=${PORT[$mode]}
    read -r -a before <<< "$(served "$mode")"
    wrk -t1 -c"$CONN" -d"${DUR}s" --latency ${CLOSE:+-H 'Connection: close'} "http://127.0.0.1:$port/" > "$work/wrk.txt" &
    wp=$!
    sleep $((DUR / 2))
    spread=""
    for w in ${SERVING[$mode]}; do
      c=$(ss -tnpH state established "( sport = :$port )" 2>/dev/null | grep -c "pid=$w," || true)
      spread="$spread $w:$c"
    done
    wait $wp
    sleep 0.3 # the workers' last reports
    read -r -a after <<< "$(served "$mode")"
    share=""
    for i in "${!after[@]}"; do share="$share $(( after[i] - ${before[i]:-0} ))"; done
    rps=$(wrk_rps < "$work/wrk.txt")
    p99=$(wrk_p99 < "$work/wrk.txt")
    printf '%-12s %4s %10s %9s %-20s %s\n' "$mode" "$run" "$rps" "$p99" "$share" "$spread"
  done
done
