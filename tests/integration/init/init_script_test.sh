#!/usr/bin/env bash
# Drives systemd/S99edge-agent (the BusyBox/SysV init script) with a stand-in daemon, under the
# shell given as $1 (sh = dash, or "busybox sh" as on the boards): start, status, a crash is
# restarted, stop delivers SIGTERM and waits, and a config that fails verify refuses to start.
set -euo pipefail
shell="$1"
script="$2"
work=$(mktemp -d /tmp/edgelink-init-XXXXXX)
cleanup() {
  if [ -f "$work/agent.pid" ]; then
    kill -KILL "$(cat "$work/agent.pid")" 2>/dev/null || true
  fi
  pkill -KILL -f "$work/fake-agent" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/fake-agent" <<'FAKE'
#!/bin/sh
# verify --config FILE: ok when FILE exists and does not contain "bad".
if [ "$1" = verify ]; then
  [ -f "$3" ] && ! grep -q bad "$3"
  exit $?
fi
dir=$(dirname "$0")
echo $$ >> "$dir/pids"
trap 'echo clean >> "$dir/stops"; exit 0' TERM
while :; do sleep 0.1; done
FAKE
chmod +x "$work/fake-agent"
echo "edge-id = test" > "$work/agent.conf"

export DAEMON="$work/fake-agent" CONFIG="$work/agent.conf" PIDFILE="$work/agent.pid"
export STATE_DIR="$work/state" RESTART_DELAY=1 STOP_TIMEOUT=10
run() { $shell "$script" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() {  # wait_for <seconds> <command...>
  local t=$1; shift
  for _ in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
  return 1
}
lines() { [ -f "$1" ] && wc -l < "$1" || echo 0; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }  # evaluated on every poll

run start > "$work/start.out" || fail "start failed"
grep -q OK "$work/start.out" || fail "start did not say OK: $(cat "$work/start.out")"
[ -d "$STATE_DIR" ] || fail "state dir not created"
wait_for 5 has_lines "$work/pids" 1 || fail "daemon did not start"
run status | grep -q running || fail "status does not say running"
run start | grep -q "already running" || fail "second start did not notice"

first=$(head -1 "$work/pids")
kill -KILL "$first"
wait_for 10 has_lines "$work/pids" 2 || fail "crashed daemon was not restarted"
second=$(tail -1 "$work/pids")
[ "$first" != "$second" ] || fail "restart reused the pid"

run stop > "$work/stop.out" || fail "stop failed"
grep -q OK "$work/stop.out" || fail "stop did not say OK: $(cat "$work/stop.out")"
[ "$(lines "$work/stops")" -ge 1 ] || fail "daemon did not get SIGTERM"
! kill -0 "$second" 2>/dev/null || fail "daemon still running after stop"
[ ! -f "$PIDFILE" ] || fail "pid file left behind"
if run status; then fail "status says running after stop"; fi

echo "bad = 1" > "$work/agent.conf"
if run start 2>"$work/err"; then fail "started with a config that does not verify"; fi
grep -q "does not verify" "$work/err" || fail "no message about the config"
echo "PASS ($shell)"
