# shellcheck shell=bash
# The shared read-only base root filesystem (the overlay lower dir of every host). Sourced by up.sh.

base_key() {
  printf '%s\n' "recipe=$LAB_RECIPE" "suite=$LAB_SUITE" "variant=minbase" "${LAB_PACKAGES[@]}" \
    | LC_ALL=C sort | sha256sum | cut -c1-12
}

base_tarball() { echo "$CACHE_DIR/$LAB_SUITE-lab-rootfs-$(base_key).tar.zst"; }

# debootstrap is the slow step (about 1-2 min); its result is cached as a tarball keyed by the package list.
ensure_base_tarball() {
  local tarball tmp
  tarball="$(base_tarball)"
  if [[ -s "$tarball" ]]; then log "base: cached $(basename "$tarball")"; return 0; fi
  mkdir -p "$CACHE_DIR"
  tmp="$CACHE_DIR/.debootstrap.$$"
  rm -rf "$tmp"
  log "base: debootstrap $LAB_SUITE (no cached tarball, takes 1-2 min)"
  local incl
  incl="$(IFS=,; echo "${LAB_PACKAGES[*]}")"
  if ! debootstrap --variant=minbase --include="$incl" "$LAB_SUITE" "$tmp" "$LAB_MIRROR" \
      >"$CACHE_DIR/debootstrap.log" 2>&1; then
    tail -20 "$CACHE_DIR/debootstrap.log" >&2
    rm -rf "$tmp"
    die "debootstrap failed (log: $CACHE_DIR/debootstrap.log)" "check that $LAB_MIRROR is reachable"
  fi
  rm -f "$tmp"/var/cache/apt/archives/*.deb
  rm -rf "$tmp"/var/lib/apt/lists/*
  tar --numeric-owner --xattrs -C "$tmp" -cf - . | zstd -q -T0 -3 -o "$tarball.part"
  mv "$tarball.part" "$tarball"
  rm -rf "$(base_tree)" "$(base_tree).complete"
  mv "$tmp" "$(base_tree)"
  touch "$(base_tree).complete"
  # Older tarballs (other package lists) would only waste disk.
  find "$CACHE_DIR" -maxdepth 1 -name "$LAB_SUITE-lab-rootfs-*.tar.zst" ! -path "$tarball" -delete
  find "$CACHE_DIR" -maxdepth 1 -name ".rootfs-*" ! -path "$(base_tree)*" -exec rm -rf {} +
  log "base: cached $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
}

# The unpacked base, shared read-only by all hosts as their bottom overlay layer and kept between labs, so a
# warm build extracts nothing. Dot-named so pytest's collection skips the Python files inside it.
base_tree() { echo "$CACHE_DIR/.rootfs-$(base_key)"; }

ensure_base_tree() {
  local tree
  tree="$(base_tree)"
  [[ -f "$tree.complete" && -d "$tree" ]] && return 0
  log "base: unpacking $(basename "$(base_tarball)")"
  rm -rf "$tree" && mkdir -p "$tree"
  zstd -q -dc "$(base_tarball)" | tar --numeric-owner --xattrs -C "$tree" -xf -
  touch "$tree.complete"
}

# A file of the base hidden in the merged view: an overlayfs whiteout (0/0 char device) in the layer.
layer_whiteout() {
  local layer="$1" rel="$2"
  mkdir -p "$layer/$(dirname "$rel")"
  rm -f "$layer/$rel"
  mknod "$layer/$rel" c 0 0
}

# A directory in an upper layer hides the mode and owner of the one below: copy them from the base.
layer_fix_dirs() {
  local layer="$1" base="$2" rel
  while read -r rel; do
    [[ -d "$base/$rel" ]] || continue
    chmod --reference="$base/$rel" "$layer/$rel"
    chown --reference="$base/$rel" "$layer/$rel"
  done < <(cd "$layer" && find . -mindepth 1 -type d)
}

# Everything every host shares, as a small overlay layer above the base: lab key, apt via the proxy, sshd
# policy, per-host SSH key generation at boot. Usage: customise_base LAYER BASE PUBKEY
customise_base() {
  local root="$1" base="$2" pubkey="$3" n f
  rm -rf "$root" && mkdir -p "$root"/etc/{ssh/sshd_config.d,apt/apt.conf.d,systemd/system} "$root/root"
  for f in "$base"/etc/ssh/ssh_host_*; do
    [[ -e "$f" ]] && layer_whiteout "$root" "etc/ssh/$(basename "$f")"
  done
  # An empty machine-id makes each host's systemd create its own on first boot.
  : >"$root/etc/machine-id"
  [[ -e "$base/var/lib/dbus/machine-id" ]] && layer_whiteout "$root" var/lib/dbus/machine-id

  install -d -m 700 "$root/root/.ssh"
  install -m 600 "$pubkey" "$root/root/.ssh/authorized_keys"

  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    echo "$LAB_GW labgw"
    for n in "${LAB_HOSTS[@]}"; do echo "$(host_ip "$n") $(host_name "$n") party${LAB_PARTY[$n]}"; done
  } >"$root/etc/hosts"
  : >"$root/etc/resolv.conf"

  cat >"$root/etc/apt/sources.list" <<SRC
deb $LAB_MIRROR $LAB_SUITE main
deb $LAB_MIRROR $LAB_SUITE-updates main
deb $LAB_SECURITY_MIRROR $LAB_SUITE-security main
SRC
  echo "Acquire::http::Proxy \"http://$LAB_GW:$LAB_ACNG_PORT/\";" >"$root/etc/apt/apt.conf.d/01lab-proxy"

  cat >"$root/etc/ssh/sshd_config.d/lab.conf" <<'SSHD'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
SSHD

  # Host keys are made inside each host on its first boot, so no two hosts share one.
  cat >"$root/etc/systemd/system/lab-ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate this host's SSH host keys on first boot
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
  install -d "$root/etc/systemd/system/multi-user.target.wants" "$root/etc/systemd/system/ssh.service.d"
  ln -sf ../lab-ssh-hostkeys.service "$root/etc/systemd/system/multi-user.target.wants/lab-ssh-hostkeys.service"
  cat >"$root/etc/systemd/system/ssh.service.d/lab.conf" <<'UNIT'
[Unit]
Wants=lab-ssh-hostkeys.service
After=lab-ssh-hostkeys.service
UNIT
  ln -sf /lib/systemd/system/ssh.service "$root/etc/systemd/system/multi-user.target.wants/ssh.service"
  # Background apt runs would take the dpkg lock in the middle of a test's Ansible run.
  ln -sf /dev/null "$root/etc/systemd/system/apt-daily.timer"
  ln -sf /dev/null "$root/etc/systemd/system/apt-daily-upgrade.timer"
  # No real consoles in a container; the getty on the nspawn console only adds noise.
  ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"

  mkdir -p "$root/data"
  layer_fix_dirs "$root" "$base"
  chmod 700 "$root/root/.ssh"
}
