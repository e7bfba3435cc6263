#!/usr/bin/env bash
# End-to-end check of examples/n8n/balancer-telegram.json against a real n8n.
#
# Not part of `npm test`: it installs n8n (about 4 minutes the first time) and starts it.
# Everything listens on 127.0.0.1 only: a fake Telegram Bot API (scripts/e2e-n8n-fake-telegram.mjs)
# stands in for api.telegram.org through the Telegram credential's Base URL.
#
# Steps: install n8n (cached) -> start the fake Telegram -> import the credentials and the
# workflow, activate it -> start n8n -> produce_event (the one step to swap for a real
# balancer run) -> assert the fake Telegram got a message naming the server.
#
# Environment:
#   N8N_DIR       where n8n is installed and reused (default: ~/.cache/balancer/n8n-1.123.81)
#   KEEP_WORK=1   keep the temporary folder (n8n home, logs) after the run
#   E2E_TIMEOUT   seconds to wait for n8n to start (default 300)
set -euo pipefail

N8N_VERSION=1.123.81
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N8N_DIR=${N8N_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/balancer/n8n-$N8N_VERSION}
E2E_TIMEOUT=${E2E_TIMEOUT:-300}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/balancer-e2e-n8n.XXXXXX")

# Test-only secrets and names (nothing here reaches the internet).
TG_TOKEN='123456:E2E-fake-token'
CHAT_ID='-1001234567890'
HOOK_HEADER='X-Balancer-Token'
HOOK_TOKEN='e2e-hook-token'
SERVER_NAME='web-2'
SERVER_ADDR='' # set by produce_event: web-2's real address

PIDS=()
log() { printf '[e2e-n8n %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() {
  log "FAIL: $*"
  for f in "$WORK"/n8n.log "$WORK"/fake-telegram.log; do
    [[ -f $f ]] && { log "--- last lines of $f"; tail -n 40 "$f"; }
  done
  exit 1
}

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# No proxies: every request of this test goes to 127.0.0.1.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='127.0.0.1,localhost'

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits until the command succeeds; $1 = seconds, $2 = what, rest = command.
wait_until() {
  local secs=$1 what=$2
  local deadline=$((SECONDS + secs))
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for $what"
    sleep 0.5
  done
}

install_n8n() {
  if [[ -x $N8N_DIR/node_modules/.bin/n8n ]] &&
    [[ $(node -p "require('$N8N_DIR/node_modules/n8n/package.json').version" 2>/dev/null) == "$N8N_VERSION" ]]; then
    log "n8n $N8N_VERSION already installed in $N8N_DIR"
    return
  fi
  log "installing n8n $N8N_VERSION into $N8N_DIR (takes a few minutes)"
  local tmp="$N8N_DIR.partial.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  # overrides: n8n's xlsx comes from a CDN these machines cannot reach (use the registry's
  # 0.18.5), and isolated-vm 6 does not build against Node 20's headers (5.0.4 does).
  cat >"$tmp/package.json" <<EOF
{
  "name": "balancer-e2e-n8n",
  "private": true,
  "dependencies": { "n8n": "$N8N_VERSION" },
  "overrides": { "xlsx": "0.18.5", "isolated-vm": "5.0.4" }
}
EOF
  (cd "$tmp" && npm install --no-audit --no-fund --loglevel=error >"$WORK/npm-install.log" 2>&1) ||
    { tail -n 40 "$WORK/npm-install.log"; fail "npm install of n8n failed"; }
  rm -rf "$N8N_DIR" && mkdir -p "$(dirname "$N8N_DIR")" && mv "$tmp" "$N8N_DIR"
  log "installed n8n $("$N8N_DIR/node_modules/.bin/n8n" --version)"
}

build_balancer() {
  log "building the balancer (tsc)"
  (cd "$ROOT" && npx tsc -p .) || fail "tsc failed"
}

start_fake_telegram() {
  node "$ROOT/scripts/e2e-n8n-fake-telegram.mjs" --token "$TG_TOKEN" --log "$WORK/telegram-calls.jsonl" \
    --port-file "$WORK/telegram.port" >"$WORK/fake-telegram.log" 2>&1 &
  PIDS+=("$!")
  wait_until 30 "the fake Telegram API" test -s "$WORK/telegram.port"
  TG_PORT=$(cat "$WORK/telegram.port")
  log "fake Telegram API on 127.0.0.1:$TG_PORT"
}

# n8n's environment: local only, nothing phoning home.
n8n_env() {
  export N8N_USER_FOLDER="$WORK/n8n-home"
  export N8N_ENCRYPTION_KEY='balancer-e2e-only-key'
  export N8N_RUNNERS_ENABLED=false
  export N8N_DIAGNOSTICS_ENABLED=false
  export N8N_DIAGNOSTICS_CONFIG_FRONTEND='' N8N_DIAGNOSTICS_CONFIG_BACKEND=''
  export N8N_VERSION_NOTIFICATIONS_ENABLED=false
  export N8N_TEMPLATES_ENABLED=false
  export N8N_PERSONALIZATION_ENABLED=false
  export N8N_HIRING_BANNER_ENABLED=false
  export N8N_DYNAMIC_BANNERS_ENABLED=false
  export N8N_COMMUNITY_PACKAGES_ENABLED=false
  export N8N_AI_ENABLED=false
  export N8N_LICENSE_AUTO_RENEW_ENABLED=false
  # Should anything still try, it only finds a closed loopback port.
  export N8N_LICENSE_SERVER_URL='http://127.0.0.1:9/'
  export N8N_VERSION_NOTIFICATIONS_ENDPOINT='http://127.0.0.1:9/'
  export N8N_DYNAMIC_BANNERS_ENDPOINT='http://127.0.0.1:9/'
  export N8N_TEMPLATES_HOST='http://127.0.0.1:9/'
  export N8N_DIAGNOSTICS_POSTHOG_API_HOST='http://127.0.0.1:9/'
  export N8N_LISTEN_ADDRESS=127.0.0.1 N8N_HOST=127.0.0.1 N8N_PROTOCOL=http N8N_PORT="$N8N_PORT"
  export WEBHOOK_URL="http://127.0.0.1:$N8N_PORT/"
  export N8N_SECURE_COOKIE=false
  export N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=false
  export DB_SQLITE_POOL_SIZE=1
  export N8N_LOG_LEVEL=info
}

N8N() { "$N8N_DIR/node_modules/.bin/n8n" "$@"; }

import_into_n8n() {
  # The two credentials the workflow refers to (by id and name), as a user would create them.
  cat >"$WORK/credentials.json" <<EOF
[
  { "id": "balancerTelegram", "name": "Telegram bot", "type": "telegramApi",
    "data": { "accessToken": "$TG_TOKEN", "baseUrl": "http://127.0.0.1:$TG_PORT" } },
  { "id": "balancerHookAuth", "name": "Balancer webhook token", "type": "httpHeaderAuth",
    "data": { "name": "$HOOK_HEADER", "value": "$HOOK_TOKEN" } }
]
EOF
  log "importing credentials and workflow"
  N8N import:credentials --input="$WORK/credentials.json" >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log"; fail "import:credentials"; }
  N8N import:workflow --input="$ROOT/examples/n8n/balancer-telegram.json" >>"$WORK/import.log" 2>&1 || { cat "$WORK/import.log"; fail "import:workflow"; }
  local id
  id=$(node -p "require('$ROOT/examples/n8n/balancer-telegram.json').id")
  N8N update:workflow --id="$id" --active=true >>"$WORK/import.log" 2>&1 || { cat "$WORK/import.log"; fail "update:workflow"; }
  log "workflow $id imported and activated"
}

start_n8n() {
  log "starting n8n on 127.0.0.1:$N8N_PORT"
  # The binary itself, not the N8N function: $! must be n8n's own pid for cleanup to stop it.
  "$N8N_DIR/node_modules/.bin/n8n" start >"$WORK/n8n.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  # The health endpoint answers before workflows are active; this line comes after.
  wait_until "$E2E_TIMEOUT" "n8n to start" n8n_ready "$pid"
  log "n8n is up"
}
n8n_ready() {
  kill -0 "$1" 2>/dev/null || fail "n8n exited"
  grep -q 'Editor is now accessible' "$WORK/n8n.log"
}

HOOK_URL() { echo "http://127.0.0.1:$N8N_PORT/webhook/balancer?chat_id=$CHAT_ID"; }

# ======================================================================================
# produce_event: the real thing. Two test servers (web-1, web-2) as their own processes, the
# balancer in front of them with the n8n webhook as its notifier, then web-2 is killed (-9):
# the balancer's health checks notice and its webhook notifier tells n8n.
# ======================================================================================
produce_event() {
  local p1 p2 lb
  p1=$(free_port); p2=$(free_port); lb=$(free_port)
  SERVER_ADDR="http://127.0.0.1:$p2"
  node "$ROOT/dist/src/cli.js" test-servers --count 1 --port "$p1" --names web-1 >"$WORK/web-1.log" 2>&1 & PIDS+=($!)
  node "$ROOT/dist/src/cli.js" test-servers --count 1 --port "$p2" --names web-2 >"$WORK/web-2.log" 2>&1 & local victim=$!
  PIDS+=("$victim")
  wait_until 30 "the test servers to listen" sh -c "curl -sf -o /dev/null http://127.0.0.1:$p1/ && curl -sf -o /dev/null http://127.0.0.1:$p2/"
  cat >"$WORK/balancer.json" <<CONF
{
  "name": "e2e-balancer",
  "addr": "127.0.0.1:$lb",
  "healthCheckDelay": 0.5,
  "healthCheck": { "fall": 2, "rise": 1, "timeout": 0.5 },
  "servers": [
    { "addr": "http://127.0.0.1:$p1", "name": "web-1" },
    { "addr": "$SERVER_ADDR", "name": "$SERVER_NAME" }
  ],
  "notifications": [
    { "type": "webhook", "name": "n8n", "url": "$(HOOK_URL)", "headers": { "$HOOK_HEADER": "\${E2E_HOOK_TOKEN}" }, "events": ["server-down"] }
  ]
}
CONF
  E2E_HOOK_TOKEN=$HOOK_TOKEN node "$ROOT/dist/src/cli.js" start --config "$WORK/balancer.json" >"$WORK/balancer.log" 2>&1 & PIDS+=($!)
  wait_until 30 "the balancer to answer from $SERVER_NAME" sh -c "curl -s 'http://127.0.0.1:$lb/' | grep -q '^$SERVER_NAME '"
  sleep 1 # two probe intervals: its first health check has passed, so the kill takes down a server that was up
  log "balancer on 127.0.0.1:$lb in front of web-1 (:$p1) and $SERVER_NAME (:$p2); killing $SERVER_NAME"
  kill -KILL "$victim"
  wait_until 30 "the balancer to log $SERVER_NAME down" grep -q "server $SERVER_ADDR down" "$WORK/balancer.log"
  log "balancer: $(grep -o "server $SERVER_ADDR down[^\"]*" "$WORK/balancer.log" | head -1)"
  curl -sf -o /dev/null "http://127.0.0.1:$lb/" || fail "the balancer did not keep serving from web-1"
}

telegram_has_message() {
  [[ -f $WORK/telegram-calls.jsonl ]] || return 1
  node -e '
    const [file, chat, name, addr] = process.argv.slice(1);
    const calls = require("fs").readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l).params);
    const hit = calls.find((p) => String(p.chat_id) === chat && p.text.includes(name) && p.text.includes(addr) && p.text.includes("DOWN"));
    if (!hit) process.exit(1);
    console.log(JSON.stringify(hit));
  ' "$WORK/telegram-calls.jsonl" "$CHAT_ID" "$SERVER_NAME" "$SERVER_ADDR" >"$WORK/hit.json"
}

assert_telegram_got_message() {
  wait_until 60 "the fake Telegram to receive a message about $SERVER_NAME" telegram_has_message
  log "fake Telegram received sendMessage: $(cat "$WORK/hit.json")"
  node -e '
    const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const problems = [];
    if (p.parse_mode !== "HTML") problems.push(`parse_mode is ${p.parse_mode}, expected HTML`);
    if (/n8n\.io|sent automatically/.test(p.text)) problems.push("attribution link was appended");
    if (!p.text.startsWith("<b>e2e-balancer</b>\n🔴 server")) problems.push("text does not start with the balancer name and the message");
    if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
  ' "$WORK/hit.json" || fail "the Telegram message is not as expected"
}

assert_unauthenticated_rejected() {
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
    --data '{"event":"server-down","message":"forged"}' "$(HOOK_URL)")
  [[ $status == 403 || $status == 401 ]] || fail "webhook without the token answered $status, expected 401/403"
  log "webhook without the token is refused ($status)"
}

main() {
  log "work folder $WORK"
  install_n8n
  build_balancer
  N8N_PORT=$(free_port)
  start_fake_telegram
  n8n_env
  import_into_n8n
  start_n8n
  assert_unauthenticated_rejected
  produce_event
  assert_telegram_got_message
  local n
  n=$(wc -l <"$WORK/telegram-calls.jsonl")
  [[ $n -eq 1 ]] || fail "expected exactly 1 sendMessage call, got $n"
  log "PASS: n8n workflow delivered the balancer's server-down event to Telegram"
}

main "$@"
