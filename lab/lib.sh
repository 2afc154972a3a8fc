# shellcheck shell=bash
# Shared settings and helpers for the lab scripts. Sourced, never run.
set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$LAB_DIR/.." && pwd)"
STATE_DIR="$LAB_DIR/.state"
CACHE_DIR="$LAB_DIR/cache"

LAB_SUITE="bookworm"
LAB_MIRROR="http://deb.debian.org/debian"
LAB_SECURITY_MIRROR="http://deb.debian.org/debian-security"
# Bump when the way the cached base is built changes, so an old tarball is not reused.
LAB_RECIPE="2"
# Host packages in the cached base. systemd/dbus: hosts boot a real init; python3 (3.11) and python3-apt:
# Ansible modules; iproute2: Ansible network facts; the rest: what a minimal server image has.
LAB_PACKAGES=(
  systemd systemd-sysv dbus libpam-systemd
  openssh-server sudo
  python3 python3-apt
  iproute2 iputils-ping netbase procps ca-certificates less
)

LAB_BRIDGE="labbr0"
LAB_SUBNET="10.77.0.0/24"
LAB_GW="10.77.0.1"
LAB_PREFIX=24
LAB_ACNG_PORT=3142
# Ports of the controller (10.77.0.1) that hosts may connect to: apt-cacher-ng, and 3141 kept for a
# PyPI proxy or wheelhouse (hosts have no other way to reach PyPI).
LAB_CTL_PORTS=("$LAB_ACNG_PORT" 3141)
LAB_HOSTS=(1 2 3)
# Host N -> party id. Party 10000 is host and arbiter, 9999 the guest, 9998 a host.
declare -A LAB_PARTY=([1]=10000 [2]=9999 [3]=9998)

host_name() { echo "lab-h$1"; }
host_ip() { echo "10.77.0.1$1"; }
host_netns() { echo "lab-h$1"; }
host_veth() { echo "veth-h$1"; }
host_dir() { echo "$STATE_DIR/h$1"; }
host_pidfile() { echo "$STATE_DIR/h$1/nspawn.pid"; }

log() { printf '[lab %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'lab: error: %s\n' "$1" >&2; [[ -n "${2:-}" ]] && printf '  hint: %s\n' "$2" >&2; exit 1; }

need_root() {
  [[ $EUID -eq 0 ]] || die "the lab needs root (namespaces, mounts, bridge)" "run it as root: sudo $0"
}

# Accepts 1..3, lab-hN, partyNNNN or a bare party id.
resolve_host() {
  local arg="$1" n
  arg="${arg#lab-h}"; arg="${arg#party}"
  for n in "${LAB_HOSTS[@]}"; do
    if [[ "$arg" == "$n" || "$arg" == "${LAB_PARTY[$n]}" ]]; then echo "$n"; return 0; fi
  done
  die "unknown lab host '$1'" "use 1-3, lab-h1..lab-h3 or a party id (10000, 9999, 9998)"
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

read_pid() { [[ -f "$1" ]] && cat "$1" || true; }

# Process still running and still the program we started (pids get reused).
pid_is() {
  local pid="$1" comm="$2"
  pid_alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]]
}

# Waits for a TCP port without any tool beyond bash.
wait_tcp() {
  local ip="$1" port="$2" timeout="$3" end=$((SECONDS + $3))
  while ((SECONDS < end)); do
    if timeout 1 bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

# Lab processes started from another checkout of this repo (e.g. the lab a previous session left up when
# CI runs in a fresh clone): nspawn hosts booting lab-hN and our apt-cacher-ng, whose state dir differs
# from ours. They hold the lab's names and addresses, so up.sh stops them first.
foreign_lab_pids() {
  local p comm cmd
  for p in /proc/[0-9]*; do
    comm="$(cat "$p/comm" 2>/dev/null)" || continue
    [[ "$comm" == systemd-nspawn || "$comm" == apt-cacher-ng ]] || continue
    cmd="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" || continue
    case "$cmd" in
      *"--machine=lab-h"*"--directory=$STATE_DIR/"*) ;;
      *"-c $STATE_DIR/acng/conf"*) ;;
      *"--machine=lab-h"*"/lab/.state/h"*) echo "${p#/proc/}" ;;
      *" -c "*"/lab/.state/acng/conf"*) echo "${p#/proc/}" ;;
    esac
  done
}

stop_foreign_lab() {
  local pid i
  for pid in $(foreign_lab_pids); do
    log "stopping pid $pid of a lab from another checkout: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-120)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
