#!/usr/bin/env bash
# L4 throughput, side by side in one run: Balancer "mode": "tcp" vs HAProxy `mode tcp` (one
# thread), in front of the same four nginx HTTP backends, loaded with wrk at the HTTP level (the
# proxies only relay bytes). Runs are interleaved (haproxy, balancer, haproxy, balancer) so the
# machine's drift favours neither; the figure is the mean of the two runs of each.
#   keep-alive   : 64 long connections, many small requests: relay cost per packet.
#   conn/request : a new connection per request (Connection: close): accept + pick + connect cost.
#   64 KiB body  : bulk bytes through the relay, in MB/s.
# Usage: bash bench/tcp.sh [seconds=5] [connections=64]
# Needs: wrk, nginx, haproxy (apt-get install -y wrk nginx-light haproxy) and a build (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5}
CONN=${2:-64}
source bench/lib.sh
bench_init bench/tcp.sh "apt-get install -y wrk nginx-light haproxy" wrk nginx haproxy

BACK=(19191 19192 19193 19194)
HAP=18191
OURS=18192
head -c 65536 /dev/zero | tr '\0' 'x' > "$work/64k"
chmod 755 "$work"; chmod 644 "$work/64k" # nginx workers may run as another user
bench_backends 8192 "location = /64k { alias $work/64k; }"

bench_haproxy_cfg "$work/haproxy.cfg" tcp 8192 "127.0.0.1:$HAP"
haproxy -f "$work/haproxy.cfg" -db & pids+=($!)

cat > "$work/balancer.json" <<CONF
{"mode": "tcp", "addr": "127.0.0.1:$OURS", "algorithm": "round-robin", "healthCheck": {"enabled": false}, "servers": [$(bench_servers tcp)]}
CONF
node dist/src/cli.js start --config "$work/balancer.json" --log-level warn & pids+=($!)

for port in $HAP $OURS; do
  bench_wait "http://127.0.0.1:$port/" || true
done

run() { # label port path extra-wrk-args... -> prints "req/s MB/s"
  local label=$1 port=$2 path=$3; shift 3
  wrk -t1 -c"$CONN" -d1s "$@" "http://127.0.0.1:$port$path" >/dev/null 2>&1 # warm-up
  local out; out=$(wrk -t1 -c"$CONN" -d"${DUR}s" --latency "$@" "http://127.0.0.1:$port$path")
  local rps mbs p99 errs
  rps=$(wrk_rps <<<"$out")
  mbs=$(awk '/Transfer\/sec/ {v=$2; u=substr(v, length(v)-1); n=v+0; if (u=="GB") n*=1024; else if (u=="KB") n/=1024; print n}' <<<"$out")
  p99=$(wrk_p99 <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")
  printf '  %-9s %10s req/s %8.1f MB/s   p99 %-8s %s\n' "$label" "$rps" "$mbs" "$p99" "$errs" >&2
  echo "$rps $mbs"
}

echo "L4 (tcp mode): wrk -t1 -c$CONN -d${DUR}s through each proxy, 4 nginx backends, one worker/thread each, $(nproc) cores" >&2
scenario() { # title path field(1=req/s,2=MB/s) wrk-args...
  local title=$1 path=$2 field=$3; shift 3
  echo "$title" >&2
  local h1 b1 h2 b2
  h1=$(run haproxy $HAP "$path" "$@"); b1=$(run balancer $OURS "$path" "$@")
  h2=$(run haproxy $HAP "$path" "$@"); b2=$(run balancer $OURS "$path" "$@")
  awk -v h1="$h1" -v h2="$h2" -v b1="$b1" -v b2="$b2" -v f="$field" -v t="$title" 'BEGIN {
    split(h1, a, " "); split(h2, b, " "); split(b1, c, " "); split(b2, d, " ");
    h = (a[f] + b[f]) / 2; m = (c[f] + d[f]) / 2; unit = f == 1 ? "req/s" : "MB/s";
    printf "%-28s haproxy %10.1f %s  balancer %10.1f %s  ratio balancer/haproxy %.2f\n", t, h, unit, m, unit, m / h }'
}
scenario "keep-alive, tiny response" / 1
scenario "conn/request, tiny response" / 1 -H "Connection: close"
scenario "keep-alive, 64 KiB response" /64k 2
