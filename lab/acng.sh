# shellcheck shell=bash
# apt-cacher-ng for the hosts, bound to the bridge address only, with its own config. Sourced.

ACNG_DIR="$STATE_DIR/acng"
ACNG_PIDFILE="$ACNG_DIR/acng.pid"

acng_running() { pid_is "$(read_pid "$ACNG_PIDFILE")" apt-cacher-ng; }

# Debian's default config remaps the Debian mirror to backends that do not resolve here; a minimal
# config passes requests straight to the host named in the URL.
acng_start() {
  acng_running && return 0
  mkdir -p "$ACNG_DIR/conf" "$ACNG_DIR/cache" "$ACNG_DIR/log"
  cat >"$ACNG_DIR/conf/acng.conf" <<CONF
CacheDir: $ACNG_DIR/cache
LogDir: $ACNG_DIR/log
SupportDir: /usr/lib/apt-cacher-ng
BindAddress: $LAB_GW
Port: $LAB_ACNG_PORT
PidFile: $ACNG_PIDFILE
SocketPath: $ACNG_DIR/acng.socket
ExThreshold: 4
CONF
  # ForeGround keeps the pid ours; setsid detaches it from the caller's terminal and session.
  setsid apt-cacher-ng -c "$ACNG_DIR/conf" ForeGround=1 </dev/null >>"$ACNG_DIR/log/stdout.log" 2>&1 &
  echo $! >"$ACNG_PIDFILE"
  wait_tcp "$LAB_GW" "$LAB_ACNG_PORT" 10 || die "apt-cacher-ng did not listen on $LAB_GW:$LAB_ACNG_PORT" \
    "see $ACNG_DIR/log/"
}

acng_stop() {
  local pid i
  pid="$(read_pid "$ACNG_PIDFILE")"
  if pid_is "$pid" apt-cacher-ng; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do pid_is "$pid" apt-cacher-ng || break; sleep 0.1; done
    pid_is "$pid" apt-cacher-ng && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$ACNG_PIDFILE"
}
