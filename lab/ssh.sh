#!/usr/bin/env bash
# ssh into a lab host with verified host keys. Usage: lab/ssh.sh 1|lab-h1|10000|party10000 [CMD...]
source "$(dirname "$0")/lib.sh"
[[ $# -ge 1 ]] || die "usage: lab/ssh.sh N|party_id [CMD...]" "N is 1-3; party ids are 10000, 9999, 9998"
n="$(resolve_host "$1")"; shift
[[ -f "$STATE_DIR/ssh_config" ]] || die "the lab is not up ($STATE_DIR/ssh_config missing)" "run lab/up.sh"
exec ssh -F "$STATE_DIR/ssh_config" "$(host_name "$n")" "$@"
