# shellcheck shell=bash
# One host's lifecycle: overlay root, network namespace, systemd-nspawn --boot. Sourced.

BASE_LAYER="$STATE_DIR/base-layer"

host_running() { pid_is "$(read_pid "$(host_pidfile "$1")")" systemd-nspawn; }

# First start only: what makes this host's disk its own (hostname, machine-id, sshd address).
host_prepare() {
  local n="$1" d merged
  d="$(host_dir "$n")"; merged="$d/merged"
  [[ -f "$d/.prepared" ]] && return 0
  echo "$(host_name "$n")" >"$merged/etc/hostname"
  tr -d '-' </proc/sys/kernel/random/uuid >"$merged/etc/machine-id"
  echo "ListenAddress $(host_ip "$n")" >"$merged/etc/ssh/sshd_config.d/listen.conf"
  touch "$d/.prepared"
}

host_mount() {
  local n="$1" d
  d="$(host_dir "$n")"
  mkdir -p "$d/upper" "$d/work" "$d/merged" "$d/docker"
  is_mounted "$d/merged" && return 0
  mount -t overlay "lab-h$n" -o "lowerdir=$BASE_LAYER:$(base_tree),upperdir=$d/upper,workdir=$d/work" "$d/merged"
}

LAB_CGROUP_HIERARCHIES=(/sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup)

host_cgroup_dirs() {
  local n="$1" h
  for h in "${LAB_CGROUP_HIERARCHIES[@]}"; do
    # Only hierarchies that are real cgroup mounts (hybrid v1 name=systemd + v2, or pure v2).
    if [[ -f "$h/cgroup.procs" ]] && { [[ "$h" != /sys/fs/cgroup ]] || [[ -f "$h/cgroup.controllers" ]]; }; then
      echo "$h/$(host_name "$n")"
    fi
  done
}

# Moves the calling shell into the host's cgroups; the backgrounded nspawn inherits them.
host_cgroup_enter() {
  local n="$1" cg
  while read -r cg; do
    mkdir -p "$cg"
    echo "$BASHPID" >"$cg/cgroup.procs"
  done < <(host_cgroup_dirs "$n")
}

host_cgroup_pids() {
  local cg
  while read -r cg; do
    if [[ -d "$cg" ]]; then find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
  done < <(host_cgroup_dirs "$1") | sort -u
}

# If nspawn itself is killed (SIGKILL, e.g. when a session's processes are ended), the host's systemd
# survives as an orphan on the same disk. Everything in the host's cgroup is this host's by
# construction: power its systemd off cleanly, then kill what is left, before the disk is used again.
host_cgroup_sweep() {
  local n="$1" pids inits cg i
  pids="$(host_cgroup_pids "$n")"
  [[ -z "$pids" ]] && return 0
  log "host $(host_name "$n"): stopping processes left by an earlier run of it"
  inits="$(while read -r cg; do
    if [[ -f "$cg/payload/init.scope/cgroup.procs" ]]; then cat "$cg/payload/init.scope/cgroup.procs"; fi
  done < <(host_cgroup_dirs "$n") | sort -u)"
  # shellcheck disable=SC2086 # word splitting of the pid list is intended
  [[ -n "$inits" ]] && { kill -s SIGRTMIN+3 $inits 2>/dev/null || true; }
  for ((i = 0; i < 75; i++)); do
    [[ -z "$(host_cgroup_pids "$n")" ]] && return 0
    sleep 0.2
  done
  for ((i = 0; i < 25; i++)); do
    pids="$(host_cgroup_pids "$n")"
    [[ -z "$pids" ]] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  die "host $(host_name "$n"): processes remain in its cgroup" "see $(host_cgroup_dirs "$n" | head -1)"
}

# Empty cgroups left by a stopped host, deepest first.
host_cgroup_remove() {
  local n="$1" cg
  while read -r cg; do
    [[ -d "$cg" ]] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done < <(host_cgroup_dirs "$n")
}

host_start() {
  local n="$1" d pid
  d="$(host_dir "$n")"
  if host_running "$n"; then return 0; fi
  host_cgroup_sweep "$n"
  host_cgroup_remove "$n"
  net_host_up "$n"
  host_mount "$n"
  host_prepare "$n"
  # --register=no/--keep-unit: the machine's PID 1 is not systemd, so there is no machined to register with.
  # --capability=all, writable /proc/sys/net and the keyring syscalls: what a Docker engine inside needs.
  # /var/lib/docker is a bind of a plain ext4 dir because overlay2 cannot stack on the overlay root.
  # Each host gets its own cgroup first: with --keep-unit nspawn puts the host's systemd in "payload" below
  # its own cgroup, and three hosts sharing one would stop each other's services.
  (
    host_cgroup_enter "$n"
    exec env SYSTEMD_NSPAWN_API_VFS_WRITABLE=network SYSTEMD_NSPAWN_TMPFS_TMP=0 \
    setsid systemd-nspawn --boot --quiet \
      --register=no --keep-unit \
      --machine="$(host_name "$n")" --hostname="$(host_name "$n")" \
      --directory="$d/merged" \
      --network-namespace-path="/run/netns/$(host_netns "$n")" \
      --resolv-conf=off --timezone=off --link-journal=no --console=passive \
      --capability=all --system-call-filter='add_key keyctl request_key' \
      --bind="$d/docker:/var/lib/docker" \
      </dev/null >>"$d/nspawn.log" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$(host_pidfile "$n")"
  # The subshell becomes systemd-nspawn only once it has joined its cgroups and exec'd.
  local i
  for ((i = 0; i < 50; i++)); do
    pid_is "$pid" systemd-nspawn && return 0
    pid_alive "$pid" || break
    sleep 0.1
  done
  pid_is "$pid" systemd-nspawn || die "host $(host_name "$n") did not start" "see $d/nspawn.log"
}

# Waits until the host generated its key and sshd answers on the host's address.
host_wait_ready() {
  local n="$1" timeout="${2:-60}" d end
  d="$(host_dir "$n")"; end=$((SECONDS + timeout))
  while ((SECONDS < end)); do
    host_running "$n" || { tail -20 "$d/nspawn.log" >&2; die "host $(host_name "$n") exited during boot" \
      "see $d/nspawn.log"; }
    if [[ -s "$d/merged/etc/ssh/ssh_host_ed25519_key.pub" ]] && wait_tcp "$(host_ip "$n")" 22 1; then
      return 0
    fi
    sleep 0.3
  done
  die "host $(host_name "$n"): sshd not reachable on $(host_ip "$n"):22 after ${timeout}s" "see $d/nspawn.log"
}

# SIGTERM makes nspawn send SIGRTMIN+3 to the host's systemd: an orderly poweroff, like `shutdown -h now`.
host_stop() {
  local n="$1" d pid i
  d="$(host_dir "$n")"
  pid="$(read_pid "$(host_pidfile "$n")")"
  if pid_is "$pid" systemd-nspawn; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do pid_is "$pid" systemd-nspawn || break; sleep 0.2; done
    if pid_is "$pid" systemd-nspawn; then
      log "host $(host_name "$n"): no clean poweroff within 30 s, killing"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$(host_pidfile "$n")"
  host_cgroup_sweep "$n"
  host_cgroup_remove "$n"
  if is_mounted "$d/merged"; then umount "$d/merged" 2>/dev/null || umount -l "$d/merged"; fi
  net_host_down "$n"
}
