#!/usr/bin/env bash
# HTTPS throughput, side by side in one run: balancer vs nginx vs HAProxy terminating TLS with the
# same self-signed certificate (ECDSA P-256), each a single worker, in front of the same four
# plain-HTTP backends (nginx answering a small static body). Three loads, interleaved (each load
# runs nginx, haproxy, balancer in turn, ROUNDS times, and the mean is printed):
#   keep-alive   HTTP/1.1, keep-alive connections           wrk -t1 -cCONN
#   handshake    HTTP/1.1, a new TLS handshake per request   wrk -t1 -cCONN -H 'Connection: close'
#   h2           HTTP/2, 64 connections x 10 streams         h2load -t1 -c64 -m10
# Usage: bash bench/https.sh [seconds=10] [connections=64]
# The fourth peer, "ceiling", is bench/raw-forwarder.ts with TLS (node:tls, HTTP/1.1 only: no h2
# figure): a bare Node.js forwarder that validates nothing, how fast Node.js serves HTTPS at all.
# ROUNDS=N (default 2) rounds per load. ONLY="nginx haproxy" leaves the balancer out (e.g. on a
# build without the `tls` listener).
# Needs: wrk, h2load (nghttp2-client), nginx, haproxy, openssl, curl, and a build (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONN=${2:-64}
ROUNDS=${ROUNDS:-2}
ONLY=${ONLY:-nginx haproxy balancer ceiling}
source bench/lib.sh
bench_init bench/https.sh "apt-get install -y wrk nghttp2-client nginx-light haproxy openssl curl" wrk h2load nginx haproxy openssl curl

# One certificate for all three.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" > "$work/combined.pem"

# Ports apart from bench/proxy.sh's, so the two can never meet.
BACK=(19101 19102 19103 19104)
declare -A PORT=([nginx]=18443 [haproxy]=18444 [balancer]=18445 [ceiling]=18446)

bench_backends 4096

# nginx: TLS and HTTP/2, one worker, keep-alive to the backends.
bench_nginx_conf nginx-lb 8192 "$(bench_nginx_upstream)
server { listen 127.0.0.1:${PORT[nginx]} ssl http2; ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
# HAProxy: one thread, TLS with ALPN h2 and http/1.1.
bench_haproxy_cfg "$work/haproxy.cfg" http 8192 "127.0.0.1:${PORT[haproxy]} ssl crt $work/combined.pem alpn h2,http/1.1" "ssl-default-bind-options ssl-min-ver TLSv1.2"
# Ours: the `tls` listener (HTTP/2 by ALPN).
cat > "$work/balancer.json" <<CONF
{"addr": "127.0.0.1:${PORT[balancer]}", "algorithm": "round-robin",
 "tls": {"certificates": [{"cert": "$work/cert.pem", "key": "$work/key.pem"}]},
 "servers": [$(bench_servers http)]}
CONF

for name in $ONLY; do
  case $name in
    nginx) nginx -c "$work/nginx-lb.conf" & pids+=($!) ;;
    haproxy) haproxy -f "$work/haproxy.cfg" -db & pids+=($!) ;;
    balancer)
      if ! node dist/src/cli.js validate "$work/balancer.json" >/dev/null 2>"$work/validate.err"; then
        echo "bench/https.sh: this build has no TLS listener (config \"tls\" refused): $(head -1 "$work/validate.err"); run with ONLY=\"nginx haproxy\"" >&2
        exit 2
      fi
      node dist/src/cli.js start --config "$work/balancer.json" --log-level warn & pids+=($!) ;;
    ceiling)
      TLS_CERT="$work/cert.pem" TLS_KEY="$work/key.pem" node dist/bench/raw-forwarder.js "${PORT[ceiling]}" \
        $(for p in "${BACK[@]}"; do printf 'http://127.0.0.1:%s ' "$p"; done) & pids+=($!) ;;
  esac
done
for name in $ONLY; do
  bench_wait "https://127.0.0.1:${PORT[$name]}/" -k || { echo "bench/https.sh: $name does not answer on https://127.0.0.1:${PORT[$name]}/" >&2; exit 1; }
  # Each must speak HTTP/2 when offered (h2load refuses otherwise); the ceiling peer speaks HTTP/1.1 only.
  [ "$name" = ceiling ] && continue
  curl -sk --http2 -o /dev/null -w '%{http_version}' "https://127.0.0.1:${PORT[$name]}/" | grep -q 2 || { echo "bench/https.sh: $name does not negotiate h2" >&2; exit 1; }
done

# One measurement: load name -> requests/s (stdout); a line for the reader on stderr.
measure() {
  local load=$1 name=$2 url="https://127.0.0.1:${PORT[$2]}/" out rps
  case $load in
    keep-alive)
      wrk -t1 -c"$CONN" -d2s "$url" >/dev/null 2>&1
      out=$(wrk -t1 -c"$CONN" -d"${DUR}s" "$url"); rps=$(wrk_rps <<<"$out") ;;
    handshake)
      wrk -t1 -c"$CONN" -d2s -H 'Connection: close' "$url" >/dev/null 2>&1
      out=$(wrk -t1 -c"$CONN" -d"${DUR}s" -H 'Connection: close' "$url"); rps=$(wrk_rps <<<"$out") ;;
    h2)
      if [ "$name" = ceiling ]; then echo 0; return; fi
      out=$(h2load -t1 -c64 -m10 --warm-up-time=2 -D "$DUR" "$url" 2>&1)
      rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' <<<"$out")
      local failed; failed=$(awk '/^requests:/ {print $10}' <<<"$out")
      [ "${failed:-0}" = 0 ] || echo "  ($name h2: $failed requests failed)" >&2 ;;
  esac
  # wrk counts socket errors apart; say so when there were any.
  grep -q 'Socket errors' <<<"${out:-}" && echo "  ($name $load: $(grep 'Socket errors' <<<"$out" | sed 's/^ *//'))" >&2
  printf '  %-9s %-11s %10.0f req/s\n' "$name" "$load" "${rps:-0}" >&2
  echo "${rps:-0}"
}

echo "HTTPS throughput: $ROUNDS interleaved rounds of ${DUR}s per load, wrk -t1 -c$CONN / h2load -t1 -c64 -m10; 4 backends; one worker each; $(nproc) cores; $(node --version)" >&2
declare -A SUM
for load in keep-alive handshake h2; do
  for r in $(seq "$ROUNDS"); do
    for name in $ONLY; do
      v=$(measure "$load" "$name")
      SUM[$load.$name]=$(awk -v a="${SUM[$load.$name]:-0}" -v b="$v" 'BEGIN { print a + b }')
    done
  done
done
echo
printf '%-11s' load; for name in $ONLY; do printf '%12s' "$name"; done
[[ " $ONLY " == *" balancer "* && " $ONLY " == *" nginx "* ]] && printf '%18s' 'balancer/nginx'
[[ " $ONLY " == *" balancer "* && " $ONLY " == *" haproxy "* ]] && printf '%18s' 'balancer/haproxy'
[[ " $ONLY " == *" ceiling "* && " $ONLY " == *" nginx "* ]] && printf '%16s' 'ceiling/nginx'
echo
for load in keep-alive handshake h2; do
  printf '%-11s' "$load"
  for name in $ONLY; do awk -v s="${SUM[$load.$name]}" -v n="$ROUNDS" 'BEGIN { printf "%12.0f", s / n }'; done
  [[ " $ONLY " == *" balancer "* && " $ONLY " == *" nginx "* ]] && awk -v b="${SUM[$load.balancer]}" -v n="${SUM[$load.nginx]}" 'BEGIN { printf "%18.2f", b / n }'
  [[ " $ONLY " == *" balancer "* && " $ONLY " == *" haproxy "* ]] && awk -v b="${SUM[$load.balancer]}" -v h="${SUM[$load.haproxy]}" 'BEGIN { printf "%18.2f", b / h }'
  [[ " $ONLY " == *" ceiling "* && " $ONLY " == *" nginx "* ]] && awk -v c="${SUM[$load.ceiling]}" -v n="${SUM[$load.nginx]}" 'BEGIN { if (c > 0) printf "%16.2f", c / n; else printf "%16s", "-" }'
  echo
done
