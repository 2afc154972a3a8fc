#!/usr/bin/env bash
# Removes the lab: hosts, mounts, namespaces, bridge, nft table, apt proxy, state dir and the generated
# inventory. Keeps lab/cache/ (the base tarball) unless --purge. Safe to run twice or with nothing up.
source "$(dirname "$0")/lib.sh"
source "$LAB_DIR/net.sh"
source "$LAB_DIR/acng.sh"
source "$LAB_DIR/hosts.sh"

purge=0
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    *) die "unknown option '$arg'" "usage: lab/down.sh [--purge]" ;;
  esac
done
need_root
t0=$SECONDS

# nspawn processes of this lab whose pidfile is gone: recognised by the directory they boot.
stray_nspawn_pids() {
  local p cmd
  for p in /proc/[0-9]*; do
    [[ "$(cat "$p/comm" 2>/dev/null)" == systemd-nspawn ]] || continue
    cmd="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" || continue
    [[ "$cmd" == *"--directory=$STATE_DIR/h"* ]] && echo "${p#/proc/}"
  done
}

# In parallel: each orderly poweroff takes a few seconds.
for n in "${LAB_HOSTS[@]}"; do host_stop "$n" & done
wait
for pid in $(stray_nspawn_pids); do
  log "stopping stray host process $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
done
for n in "${LAB_HOSTS[@]}"; do
  host_cgroup_remove "$n"
  # nspawn's per-machine mount-propagation dir; it cannot remove it itself when /run is not a tmpfs.
  rm -rf "/run/systemd/nspawn/propagate/$(host_name "$n")"
done
acng_stop
net_down

# Anything still mounted below the state dir (deepest first) must go before rm -rf may touch it.
if [[ -d "$STATE_DIR" ]]; then
  while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt"
  done < <(awk -v s="$STATE_DIR/" 'index($2, s) == 1 { print $2 }' /proc/mounts | sort -r)
  if awk -v s="$STATE_DIR/" 'index($2, s) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    die "mounts remain under $STATE_DIR; not deleting it" "check 'grep $STATE_DIR /proc/mounts'"
  fi
  rm -rf "$STATE_DIR"
fi
rm -f "$REPO_DIR/ansible/inventory/lab.yml"
if ((purge)); then rm -rf "$CACHE_DIR"; fi
log "lab down in $((SECONDS - t0)) s$( ((purge)) && echo ', cache purged')"
