#!/usr/bin/env bash
# Restarts one host like a machine reboot: orderly poweroff, fresh network stack, same disk.
# Usage: lab/restart-host.sh 1|lab-h1|10000|party10000
source "$(dirname "$0")/lib.sh"
source "$LAB_DIR/base.sh"
source "$LAB_DIR/net.sh"
source "$LAB_DIR/hosts.sh"
need_root
[[ $# -eq 1 ]] || die "usage: lab/restart-host.sh N|party_id" "N is 1-3; party ids are 10000, 9999, 9998"
n="$(resolve_host "$1")"
[[ -d "$(host_dir "$n")/upper" ]] || die "host $(host_name "$n") was never built" "run lab/up.sh first"
ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || die "bridge $LAB_BRIDGE is missing" "run lab/up.sh"
t0=$SECONDS
host_stop "$n"
host_start "$n"
host_wait_ready "$n" 90
log "host $(host_name "$n") restarted in $((SECONDS - t0)) s"
