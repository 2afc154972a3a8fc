#!/usr/bin/env bash
# One line per host: state, address, party, sshd reachable. Exit 0 only if every host is up with sshd.
source "$(dirname "$0")/lib.sh"
source "$LAB_DIR/net.sh"
source "$LAB_DIR/hosts.sh"
source "$LAB_DIR/acng.sh"

all_ok=0
for n in "${LAB_HOSTS[@]}"; do
  state=down sshd=no
  host_running "$n" && state=up
  if [[ $state == up ]] && wait_tcp "$(host_ip "$n")" 22 1; then sshd=yes; else all_ok=1; fi
  printf '%-7s party%-6s %-7s %-12s sshd:%s\n' "$(host_name "$n")" "${LAB_PARTY[$n]}" "$state" \
    "$(host_ip "$n")" "$sshd"
done
acng=down; acng_running && acng=up
printf '%-7s %-11s %-7s %-12s port:%s\n' apt-proxy "" "$acng" "$LAB_GW" "$LAB_ACNG_PORT"
exit "$all_ok"
