"""Render KubeFATE 1.8 ``parties.conf`` and per-party bundles from an inventory, without Ansible.

The templates, their destinations and the plain defaults are the kubefate role's own files
(``ansible/roles/kubefate/{templates,vars,defaults}``), so the plan, the tests and the role render
the same bytes. Upstream files fatelab does not re-author (log4j config, component registry, meta
tables SQL, ...) are copied from a KubeFATE package when one is given; without it the bundle lists
them in ``STATIC_FILES_MISSING`` so nobody mistakes a plan for a deployable bundle.

Passwords: this renderer is the plan (``make plan`` contacts no host and creates no secret), so every
password is ``PLAN-PLACEHOLDER-<name>`` and each bundle carries ``PLAN_ONLY``, which the deploy refuses.
The role's deploy derives the real ones from a per-party secret (``derive_secrets`` is the same rule),
and tests pass such secrets to ``render_bundle`` to compare with Ansible's output.

CLI: ``python -m kubefate.render INVENTORY OUT_DIR [--package PATH]``.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import os
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import yaml

from harness.errors import ConfigError
from harness.hosts.inventory import Cluster, load_inventory

# The kubefate role's files, through the package's own symlink (kubefate/role -> ansible/roles/kubefate):
# in a checkout this resolves to the role itself, in an installed fatelab to the copy the wheel carries.
ROLE_DIR = (Path(__file__).resolve().parent / "role").resolve()
VERSIONS_FILE = Path(__file__).resolve().parent / "versions.yml"
# docker-compose's fate-network; a party address inside it would be routed into the bridge.
COMPOSE_SUBNET = ipaddress.ip_network("192.167.0.0/16")
SUPPORTED_BACKENDS = ("eggroll",)
MISSING_MARKER = "STATIC_FILES_MISSING"


Secrets = Mapping[str, str]


@dataclass(frozen=True)
class BundleLayout:
    templates: tuple[tuple[str, str], ...]
    static: tuple[tuple[str, str], ...]
    meta_sql: tuple[str, str]
    dirs: tuple[str, ...]
    folders: tuple[str, ...]
    public_dirs: tuple[str, ...]
    modes: Mapping[str, int]
    secret_names: tuple[str, ...]

    def file_mode(self, rel: str) -> int:
        public = PurePosixPath(rel).parent.as_posix() in self.public_dirs
        return self.modes["public_file" if public else "file"]

    def dir_mode(self, rel: str) -> int:
        return self.modes["public_dir" if rel.rstrip("/") in self.public_dirs else "dir"]


def _role_vars(role_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((role_dir / "vars" / "main.yml").read_text())


def load_layout(role_dir: Path = ROLE_DIR) -> BundleLayout:
    raw = _role_vars(role_dir)
    return BundleLayout(
        templates=tuple((t["src"], t["dest"]) for t in raw["kubefate_bundle_templates"]),
        static=tuple((t["src"], t["dest"]) for t in raw["kubefate_bundle_static"]),
        meta_sql=(raw["kubefate_bundle_meta_sql"]["src"], raw["kubefate_bundle_meta_sql"]["dest"]),
        dirs=tuple(raw["kubefate_bundle_dirs"]),
        folders=tuple(raw["kubefate_bundle_folders"]),
        public_dirs=tuple(raw["kubefate_bundle_public_dirs"]),
        modes={key: int(raw[f"kubefate_bundle_{key}_mode"], 8) for key in ("file", "dir", "public_file", "public_dir")},
        secret_names=tuple(raw["kubefate_secret_names"]),
    )


def derive_secrets(party_secret: str, role_dir: Path = ROLE_DIR) -> dict[str, str]:
    """The role's rule (tasks/bundle.yml): sha256("<party secret>:<name>"), first 32 hex digits."""
    names = _role_vars(role_dir)["kubefate_secret_names"]
    return {n: hashlib.sha256(f"{party_secret}:{n}".encode()).hexdigest()[:32] for n in names}


def placeholder_secrets(role_dir: Path = ROLE_DIR) -> dict[str, str]:
    raw = _role_vars(role_dir)
    return {n: raw["kubefate_secret_placeholder_prefix"] + n for n in raw["kubefate_secret_names"]}


def load_versions(path: Path = VERSIONS_FILE) -> dict[str, dict[str, Any]]:
    return {str(k): v for k, v in yaml.safe_load(path.read_text())["kubefate"].items()}


def settings_for(cluster: Cluster, role_dir: Path = ROLE_DIR) -> dict[str, Any]:
    """Role defaults (plain values only) overridden by the inventory's ``kubefate_*`` all-vars."""
    defaults = yaml.safe_load((role_dir / "defaults" / "main.yml").read_text())
    settings = {k: v for k, v in defaults.items() if not (isinstance(v, str) and "{{" in v)}
    settings.update({k: v for k, v in cluster.vars.items() if k.startswith("kubefate_") or k.startswith("fate_")})
    settings.update(_role_vars(role_dir))  # role vars outrank the inventory in Ansible too
    settings["kubefate_version"] = str(settings["kubefate_version"])
    versions = load_versions()
    if settings["kubefate_version"] not in versions:
        raise ConfigError(
            f"kubefate_version {settings['kubefate_version']} is not pinned in kubefate/versions.yml "
            f"(pinned: {', '.join(versions)})",
            hint="use a pinned version or add it to kubefate/versions.yml with its package sha256",
        )
    pin = versions[settings["kubefate_version"]]
    settings.setdefault("kubefate_image_tag", pin["image_tag"])
    settings.setdefault("kubefate_serving_tag", pin["serving_tag"])
    settings["kubefate_inventory_name"] = cluster.name
    settings["kubefate_parties"] = parties_context(cluster, settings)
    return settings


def parties_context(
    cluster: Cluster, settings: Mapping[str, Any], secrets: Mapping[int, Secrets] | None = None
) -> list[dict[str, Any]]:
    """Same keys, in the same order, as tasks/bundle.yml's kubefate_parties."""
    placeholders = placeholder_secrets()
    return [
        {
            "party_id": p.party_id,
            "host": p.host,
            "address": p.address,
            "serving_address": str(p.vars.get("fate_serving_address") or p.address),
            "admin_bind_address": str(
                p.vars.get("kubefate_admin_bind_address") or settings["kubefate_admin_bind_address"]
            ),
            "secrets": dict(secrets[p.party_id]) if secrets is not None else placeholders,
        }
        for p in cluster.parties
    ]


def validate_kubefate(cluster: Cluster, settings: Mapping[str, Any]) -> None:
    """Rules specific to a KubeFATE docker-compose deployment (on top of the generic inventory rules)."""
    if cluster.deployment != "kubefate":
        raise ConfigError(
            f"inventory {cluster.name!r} has fate_deployment={cluster.deployment!r}, not 'kubefate'",
            hint="set fate_deployment: kubefate under all.vars",
        )
    if settings["kubefate_backend"] not in SUPPORTED_BACKENDS:
        raise ConfigError(
            f"kubefate_backend {settings['kubefate_backend']!r} is not rendered by fatelab",
            hint="use kubefate_backend: eggroll (spark backends need HDFS/MQ settings fatelab lacks)",
        )
    if not str(settings["kubefate_deploy_dir"]).startswith("/"):
        raise ConfigError(f"kubefate_deploy_dir {settings['kubefate_deploy_dir']!r} must be an absolute path")
    if str(settings["kubefate_mysql_user"]) == "root":
        raise ConfigError("kubefate_mysql_user must not be root", hint="FATE-Flow gets its own MySQL user, e.g. fate")
    _require_ipv4("kubefate_rollsite_bind_address", settings["kubefate_rollsite_bind_address"])
    for party in settings["kubefate_parties"]:
        _require_ipv4(f"host {party['host']}: kubefate_admin_bind_address", party["admin_bind_address"])
    # Two parties never share an address (harness/hosts/party_schema.yml): each rollsite publishes 9370.
    for p in cluster.parties:
        try:
            if ipaddress.ip_address(p.address) in COMPOSE_SUBNET:
                raise ConfigError(
                    f"host {p.host} address {p.address} is inside 192.167.0.0/16, the docker-compose "
                    "network every KubeFATE party creates",
                    hint="use host addresses outside 192.167.0.0/16",
                )
        except ValueError:
            pass  # DNS names cannot be checked offline


def _require_ipv4(what: str, value: Any) -> None:
    # docker-compose publishes on an IPv4 literal; anything else would reach the compose file verbatim.
    try:
        ipaddress.IPv4Address(str(value))
    except ValueError:
        raise ConfigError(
            f"{what} {value!r} is not an IPv4 address",
            hint="use 127.0.0.1, 0.0.0.0 or one of the host's own IPv4 addresses",
        ) from None


def _firewall_sources(cluster: Cluster, settings: Mapping[str, Any]) -> None:
    """The DOCKER-USER rules take addresses literally: refuse what iptables would resolve or misread."""
    admin = settings.get("fate_admin_network") or []
    for source in [admin] if isinstance(admin, str) else admin:
        try:
            ipaddress.IPv4Network(str(source), strict=False)
        except ValueError:
            raise ConfigError(
                f"fate_admin_network entry {source!r} is not an IPv4 address or CIDR",
                hint="list the admin machines as IPv4 addresses or networks, e.g. 198.51.100.0/28",
            ) from None
    for p in cluster.parties:
        try:
            ipaddress.IPv4Address(p.address)
        except ValueError:
            raise ConfigError(
                f"host {p.host} address {p.address!r} is not an IPv4 address; the DOCKER-USER rules "
                "admit peers by address",
                hint="use IPv4 ansible_host values, or kubefate_docker_user_firewall: false and a "
                "firewall of your own",
            ) from None


def _environment(role_dir: Path) -> jinja2.Environment:
    # Same whitespace rules as Ansible's template module (trim_blocks on, trailing newline kept).
    # Not HTML: escaping would corrupt YAML/JSON/SQL. Values come from the operator's own inventory.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(role_dir / "templates")),
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701
    )


def render_parties_conf(cluster: Cluster, role_dir: Path = ROLE_DIR) -> str:
    settings = settings_for(cluster, role_dir)
    validate_kubefate(cluster, settings)
    return _environment(role_dir).get_template("parties.conf.j2").render(**settings)


def render_firewall(cluster: Cluster, party_id: int, role_dir: Path = ROLE_DIR) -> str:
    """iptables-restore input for the party's DOCKER-USER filter (rollsite: peers; admin ports: admins)."""
    settings = settings_for(cluster, role_dir)
    validate_kubefate(cluster, settings)
    _firewall_sources(cluster, settings)
    party = next(p for p in settings["kubefate_parties"] if p["party_id"] == cluster.party(party_id).party_id)
    template = _environment(role_dir).get_template(settings["kubefate_firewall_template"])
    return template.render(**settings, kubefate_party=party)


def render_bundle(
    cluster: Cluster,
    party_id: int,
    package_dir: Path | None = None,
    role_dir: Path = ROLE_DIR,
    secrets: Mapping[int, Secrets] | None = None,
) -> dict[str, str]:
    """Return {relative path: content} for confs-<party_id>/; directories map to ''.

    Without ``secrets`` ({party_id: {name: password}}) the passwords are placeholders and the bundle
    says PLAN_ONLY.
    """
    settings = settings_for(cluster, role_dir)
    if secrets is not None:
        settings["kubefate_parties"] = parties_context(cluster, settings, secrets)
    validate_kubefate(cluster, settings)
    party = next((p for p in settings["kubefate_parties"] if p["party_id"] == party_id), None)
    if party is None:
        cluster.party(party_id)  # raises ConfigError naming the known parties
    layout = load_layout(role_dir)
    env = _environment(role_dir)
    files: dict[str, str] = {}
    for src, dest in layout.templates:
        files[dest] = env.get_template(src).render(**settings, kubefate_party=party)
    for d in layout.dirs:
        files[d + "/"] = ""
    if secrets is None:
        files[settings["kubefate_plan_only_marker"]] = (
            "Rendered by a plan: every password is a placeholder. Deploy with the kubefate role, which\n"
            "generates each party's secret; this bundle is refused.\n"
        )
    if package_dir is None:
        missing = [dest for _, dest in layout.static] + [layout.meta_sql[1]]
        files[MISSING_MARKER] = "".join(f"{m}\n" for m in missing)
        return files
    template_root = package_dir / "training_template"
    for src, dest in layout.static:
        files[dest] = _read_package_file(template_root / src)
    meta = _read_package_file(template_root / layout.meta_sql[0])
    files[layout.meta_sql[1]] = meta.replace("eggroll_meta", str(settings["kubefate_mysql_db"]))
    return files


def _read_package_file(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(
            f"KubeFATE package has no {path}",
            hint="point kubefate_package_path at the KubeFATE compose tarball or its docker-deploy/ dir",
        )
    return path.read_text()


def resolve_package(path: str | Path, work_dir: Path, package_root: str = "docker-deploy") -> Path:
    """Accept a package tarball or an unpacked docker-deploy/ directory; return the docker-deploy dir."""
    path = Path(path).expanduser()
    if path.is_dir():
        return path / package_root if (path / package_root / "training_template").is_dir() else path
    if path.is_file():
        with tarfile.open(path) as tar:
            tar.extractall(work_dir, filter="data")
        return work_dir / package_root
    raise ConfigError(f"KubeFATE package {path} does not exist", hint="pass a tarball or a docker-deploy/ directory")


def write_plan(cluster: Cluster, out_dir: Path, package_dir: Path | None = None) -> list[Path]:
    """Write parties.conf, docker-user-<id>.rules and confs-<id>/ for every party under out_dir.

    Modes follow the role (0640 files, 0750 folders, the mysql init folder world-readable), set when
    each file is created, never widened afterwards. Returns the files written.
    """
    layout = load_layout()
    settings = settings_for(cluster)
    _mkdir(out_dir, 0o700)  # as the role's build folder: a deploy's holds passwords
    written = [_write(out_dir / "parties.conf", render_parties_conf(cluster), layout.modes["file"])]
    for p in cluster.parties:
        if settings["kubefate_docker_user_firewall"]:
            name = str(settings["kubefate_firewall_dest"]).format(party_id=p.party_id)
            written.append(_write(out_dir / name, render_firewall(cluster, p.party_id), layout.modes["file"]))
        root = out_dir / f"confs-{p.party_id}"
        for folder in layout.folders:  # parents first, as the role creates them
            _mkdir(root / folder, layout.dir_mode(folder))
        for rel, content in render_bundle(cluster, p.party_id, package_dir).items():
            if not rel.endswith("/"):
                written.append(_write(root / PurePosixPath(rel), content, layout.file_mode(rel)))
    return written


def _mkdir(path: Path, mode: int) -> None:
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    path.chmod(mode)  # mkdir's mode is cut by the umask; an existing folder may be wider


def _write(path: Path, content: str, mode: int) -> Path:
    # Created with its final mode (never readable by others in between); an old file is replaced.
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as out:
        out.write(content)
    os.chmod(tmp, mode)  # the umask may have cut the creation mode
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubefate.render", description=__doc__.splitlines()[0])
    parser.add_argument("inventory", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--package", help="KubeFATE docker-compose tarball or unpacked docker-deploy/ dir")
    args = parser.parse_args(argv)
    try:
        cluster = load_inventory(args.inventory, deploy=True)
        with tempfile.TemporaryDirectory() as tmp:
            package = resolve_package(args.package, Path(tmp)) if args.package else None
            written = write_plan(cluster, args.out_dir, package)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"wrote {len(written)} files for parties {cluster.party_ids} under {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
