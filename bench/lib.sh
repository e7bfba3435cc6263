# Shared by the bench scripts (proxy.sh, tcp.sh, https.sh, workers.sh): sourced from the repo root
# after `set -euo pipefail`. The nginx backends listen on the ports in the caller's BACK array.

# bench_init SCRIPT HINT TOOL...: exits 2 naming a missing tool (HINT: how to install it), builds if
# needed, makes the temp dir $work and the list $pids of what to stop; both go on exit.
bench_init() {
  local script=$1 hint=$2 t; shift 2
  for t in "$@"; do command -v "$t" >/dev/null || { echo "$script: needs $t${hint:+ ($hint)}"; exit 2; }; done
  [ -f dist/src/cli.js ] || npm run build >/dev/null
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# bench_nginx_conf NAME WORKER_CONNECTIONS HTTP: writes $work/NAME.conf, a one-worker nginx (pid and
# error log in $work/NAME.*) with HTTP inside its http block.
bench_nginx_conf() {
  cat > "$work/$1.conf" <<CONF
daemon off; worker_processes 1; pid $work/$1.pid; error_log $work/$1.err;
events { worker_connections $2; }
http { access_log off; keepalive_requests 1000000;
$3
}
CONF
}

# bench_backends WORKER_CONNECTIONS [EXTRA]: one nginx, one worker, a server per BACK port answering
# "hello from PORT" (13 bytes); EXTRA goes into each server block (e.g. another location).
bench_backends() {
  local conns=$1 extra=${2:-} p
  bench_nginx_conf backend "$conns" "$(for p in "${BACK[@]}"; do echo "server { listen 127.0.0.1:$p; location / { return 200 \"hello from $p\"; }${extra:+ $extra} }"; done)"
  nginx -c "$work/backend.conf" & pids+=($!)
}

# bench_nginx_upstream: nginx's `upstream backends` block over the BACK ports, 64 idle keep-alives.
bench_nginx_upstream() {
  local p
  echo "upstream backends { $(for p in "${BACK[@]}"; do echo "server 127.0.0.1:$p;"; done) keepalive 64; }"
}

# bench_haproxy_cfg FILE MODE MAXCONN BIND [GLOBAL]: a one-thread HAProxy config, round-robin over the
# BACK ports; MODE http keeps connections alive; BIND is the frontend's bind line after "bind ".
bench_haproxy_cfg() {
  local file=$1 mode=$2 maxconn=$3 bind=$4 global=${5:-} keep='' i
  if [ "$mode" = http ]; then keep='  option http-keep-alive'; fi
  cat > "$file" <<CONF
global
  nbthread 1
  maxconn $maxconn
${global:+  $global
}defaults
  mode $mode
  timeout connect 5s
  timeout client 60s
  timeout server 60s
${keep:+$keep
}frontend fe
  bind $bind
  default_backend be
backend be
  balance roundrobin
$(for i in "${!BACK[@]}"; do echo "  server s$i 127.0.0.1:${BACK[$i]}"; done)
CONF
}

# bench_servers SCHEME: the Balancer "servers" list over the BACK ports, e.g. {"addr":"http://127.0.0.1:19001"},...
bench_servers() {
  local p
  for p in "${BACK[@]}"; do printf '{"addr":"%s://127.0.0.1:%s"},' "$1" "$p"; done | sed 's/,$//'
}

# bench_wait URL [CURL-FLAG...]: waits up to 10 s for URL to answer 2xx; fails if it never does.
bench_wait() {
  local url=$1 _; shift
  for _ in $(seq 100); do curl -sf "$@" "$url" >/dev/null && return 0; sleep 0.1; done
  return 1
}

# wrk_rps / wrk_p99 (wrk's output on stdin): requests per second; the 99th percentile latency (--latency).
wrk_rps() { awk '/Requests\/sec/ {print $2}'; }
wrk_p99() { awk '$1 == "99%" {print $2}'; }
