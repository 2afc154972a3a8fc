#!/usr/bin/env bash
# Builds (or resumes) the three-host lab. Idempotent: a second run only starts what is not running.
# Usage: lab/up.sh        (as root)
source "$(dirname "$0")/lib.sh"
source "$LAB_DIR/base.sh"
source "$LAB_DIR/net.sh"
source "$LAB_DIR/acng.sh"
source "$LAB_DIR/hosts.sh"

INVENTORY="$REPO_DIR/ansible/inventory/lab.yml"
T0=$SECONDS
phase() { log "$1 ($((SECONDS - T0)) s elapsed)"; }

# command -> Debian package providing it
declare -A HOST_TOOLS=(
  [debootstrap]=debootstrap [systemd-nspawn]=systemd-container [nft]=nftables
  [apt-cacher-ng]=apt-cacher-ng [zstd]=zstd [ssh]=openssh-client [ssh-keygen]=openssh-client
  [ip]=iproute2 [python3]=python3 [mountpoint]=util-linux
)

install_host_tools() {
  local cmd missing=()
  for cmd in "${!HOST_TOOLS[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${HOST_TOOLS[$cmd]}")
  done
  ((${#missing[@]})) || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "host tools: apt-get install ${missing[*]}"
  # Without a policy-rc.d, apt-cacher-ng's postinst would start a machine-wide daemon on all addresses.
  # Create one only if the machine has none, and remove only that one.
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, created by fatelab lab/up.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  } >"$STATE_DIR/apt-host-tools.log" 2>&1 || rc=$?
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  if ((rc)); then
    tail -20 "$STATE_DIR/apt-host-tools.log" >&2
    die "apt-get could not install ${missing[*]} (log: $STATE_DIR/apt-host-tools.log)" \
      "check the machine's apt sources and network access to the Debian mirror"
  fi
}

# The layers are the lower dirs of mounted overlays: never rewrite them under running hosts.
prepare_base() {
  local want marker n
  want="$(base_key) $(sha256sum <"$STATE_DIR/id_ed25519.pub" | cut -c1-16)"
  marker="$BASE_LAYER/.lab-layer"
  ensure_base_tree
  if [[ -f "$marker" && "$(cat "$marker")" == "$want" ]]; then
    log "base: layers are current"
    return 0
  fi
  for n in "${LAB_HOSTS[@]}"; do
    if [[ -d "$(host_dir "$n")" ]]; then
      log "base changed: discarding host $(host_name "$n") (its disk was built on the old base)"
      host_stop "$n"
      rm -rf "$(host_dir "$n")"
    fi
  done
  customise_base "$BASE_LAYER" "$(base_tree)" "$STATE_DIR/id_ed25519.pub"
  echo "$want" >"$marker"
}

verify_ssh() {
  local n
  for n in "${LAB_HOSTS[@]}"; do
    ssh -F "$STATE_DIR/ssh_config" -o BatchMode=yes "$(host_name "$n")" true \
      || die "SSH to $(host_name "$n") failed with the collected host keys" "run lab/down.sh, then lab/up.sh"
  done
}

main() {
  need_root
  mkdir -p "$STATE_DIR" "$CACHE_DIR"
  phase "host tools"
  install_host_tools
  [[ -f "$STATE_DIR/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -C fatelab-lab -f "$STATE_DIR/id_ed25519"

  phase "base root filesystem"
  ensure_base_tarball
  prepare_base

  phase "network, guard, apt proxy"
  stop_foreign_lab
  net_bridge_up
  net_guard_up
  acng_start

  phase "hosts"
  local n specs=()
  for n in "${LAB_HOSTS[@]}"; do host_start "$n"; done
  for n in "${LAB_HOSTS[@]}"; do host_wait_ready "$n" 90; done

  phase "client files"
  for n in "${LAB_HOSTS[@]}"; do
    specs+=("$n:$(host_name "$n"):${LAB_PARTY[$n]}:$(host_ip "$n"):$(host_dir "$n")/merged")
  done
  python3 "$LAB_DIR/render_state.py" --state "$STATE_DIR" --inventory "$INVENTORY" --gateway "$LAB_GW" \
    --subnet "$LAB_SUBNET" --apt-proxy "http://$LAB_GW:$LAB_ACNG_PORT/" "${specs[@]}"
  verify_ssh
  phase "lab up"
  "$LAB_DIR/status.sh"
}

main "$@"
