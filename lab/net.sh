# shellcheck shell=bash
# Bridge, per-host network namespaces and the nft guard. Sourced.

net_bridge_up() {
  if ! ip link show "$LAB_BRIDGE" >/dev/null 2>&1; then
    ip link add "$LAB_BRIDGE" type bridge
  fi
  # A bridge takes the lowest port MAC unless given one; it would change whenever a host restarts.
  ip link set "$LAB_BRIDGE" address 02:77:00:00:00:01
  ip addr replace "$LAB_GW/$LAB_PREFIX" dev "$LAB_BRIDGE"
  ip link set "$LAB_BRIDGE" up
}

# The guard keeps the lab a closed network even if something later turns on ip_forward (dockerd does):
# nothing from the bridge is forwarded elsewhere or into it, and hosts reach the controller's own
# namespace only on the ports in @ctl_ports (LAB_CTL_PORTS in lib.sh); other tools add ports with
#   nft add element inet labguard ctl_ports '{ PORT }'
net_guard_up() {
  # Kept if present, so ports other tools added to @ctl_ports survive a re-run of up.sh.
  nft list table inet labguard >/dev/null 2>&1 && return 0
  nft -f - <<NFT
table inet labguard {
  set ctl_ports {
    type inet_service
    elements = { $(IFS=,; echo "${LAB_CTL_PORTS[*]}") }
  }
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "$LAB_BRIDGE" oifname != "$LAB_BRIDGE" counter drop comment "lab-egress"
    oifname "$LAB_BRIDGE" iifname != "$LAB_BRIDGE" counter drop comment "lab-ingress"
  }
  chain input {
    type filter hook input priority -10; policy accept;
    iifname "$LAB_BRIDGE" ct state established,related accept
    iifname "$LAB_BRIDGE" meta l4proto { icmp, ipv6-icmp } accept
    iifname "$LAB_BRIDGE" ip daddr $LAB_GW tcp dport @ctl_ports accept
    iifname "$LAB_BRIDGE" counter drop comment "lab-to-controller"
  }
}
NFT
}

# A fresh namespace on every host start, as after a reboot: nothing configured inside a host's
# network stack (e.g. Docker bridges) outlives the host.
net_host_up() {
  local n="$1" ns veth
  ns="$(host_netns "$n")"; veth="$(host_veth "$n")"
  net_host_down "$n"
  ip netns add "$ns"
  # Fixed MACs, like a real NIC across reboots: neighbours' ARP caches stay valid after a host restart.
  ip link add "$veth" address "02:77:00:00:01:1$n" type veth peer name eth0 netns "$ns" address "02:77:00:00:00:1$n"
  ip link set "$veth" master "$LAB_BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$(host_ip "$n")/$LAB_PREFIX" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$LAB_GW"
}

net_host_down() {
  local n="$1"
  ip netns del "$(host_netns "$n")" 2>/dev/null || true
  ip link del "$(host_veth "$n")" 2>/dev/null || true
}

net_down() {
  local n
  for n in "${LAB_HOSTS[@]}"; do net_host_down "$n"; done
  ip link del "$LAB_BRIDGE" 2>/dev/null || true
  # Left behind only if a run of tests/lab was killed mid-test.
  ip netns del lab-probe 2>/dev/null || true
  ip link del lab-probe0 2>/dev/null || true
  if command -v nft >/dev/null; then nft delete table inet labguard 2>/dev/null || true; fi
}
