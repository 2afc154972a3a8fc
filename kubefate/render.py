"""Render KubeFATE 1.8 ``parties.conf`` and per-party bundles from an inventory, without Ansible.

The templates, their destinations and the plain defaults are the kubefate role's own files
(``ansible/roles/kubefate/{templates,vars,defaults}``), so the plan, the tests and the role render
the same bytes. Upstream files fatelab does not re-author (log4j config, component registry, meta
tables SQL, ...) are copied from a KubeFATE package when one is given; without it the bundle lists
them in ``STATIC_FILES_MISSING`` so nobody mistakes a plan for a deployable bundle.

CLI: ``python -m kubefate.render INVENTORY OUT_DIR [--package PATH]``.
"""

from __future__ import annotations

import argparse
import ipaddress
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
from harness.inventory import Cluster, load_inventory

REPO_ROOT = Path(__file__).resolve().parent.parent
ROLE_DIR = REPO_ROOT / "ansible" / "roles" / "kubefate"
VERSIONS_FILE = Path(__file__).resolve().parent / "versions.yml"
# docker-compose's fate-network; a party address inside it would be routed into the bridge.
COMPOSE_SUBNET = ipaddress.ip_network("192.167.0.0/16")
SUPPORTED_BACKENDS = ("eggroll",)
MISSING_MARKER = "STATIC_FILES_MISSING"


@dataclass(frozen=True)
class BundleLayout:
    templates: tuple[tuple[str, str], ...]
    static: tuple[tuple[str, str], ...]
    meta_sql: tuple[str, str]
    dirs: tuple[str, ...]


def load_layout(role_dir: Path = ROLE_DIR) -> BundleLayout:
    raw = yaml.safe_load((role_dir / "vars" / "main.yml").read_text())
    return BundleLayout(
        templates=tuple((t["src"], t["dest"]) for t in raw["kubefate_bundle_templates"]),
        static=tuple((t["src"], t["dest"]) for t in raw["kubefate_bundle_static"]),
        meta_sql=(raw["kubefate_bundle_meta_sql"]["src"], raw["kubefate_bundle_meta_sql"]["dest"]),
        dirs=tuple(raw["kubefate_bundle_dirs"]),
    )


def load_versions(path: Path = VERSIONS_FILE) -> dict[str, dict[str, Any]]:
    return {str(k): v for k, v in yaml.safe_load(path.read_text())["kubefate"].items()}


def settings_for(cluster: Cluster, role_dir: Path = ROLE_DIR) -> dict[str, Any]:
    """Role defaults (plain values only) overridden by the inventory's ``kubefate_*`` all-vars."""
    defaults = yaml.safe_load((role_dir / "defaults" / "main.yml").read_text())
    settings = {k: v for k, v in defaults.items() if not (isinstance(v, str) and "{{" in v)}
    settings.update(
        {k: v for k, v in cluster.vars.items() if k.startswith("kubefate_") or k.startswith("fate_")}
    )
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
    settings["kubefate_parties"] = parties_context(cluster)
    return settings


def parties_context(cluster: Cluster) -> list[dict[str, Any]]:
    return [
        {
            "party_id": p.party_id,
            "host": p.host,
            "address": p.address,
            "serving_address": str(p.vars.get("fate_serving_address") or p.address),
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
    seen: dict[str, str] = {}
    for p in cluster.parties:
        # Every party's rollsite publishes host port 9370, so two parties cannot share one address.
        if p.address in seen:
            raise ConfigError(
                f"hosts {seen[p.address]} and {p.host} share address {p.address}; each KubeFATE party "
                "publishes port 9370 and needs its own host",
                hint="give each party its own ansible_host",
            )
        seen[p.address] = p.host
        try:
            if ipaddress.ip_address(p.address) in COMPOSE_SUBNET:
                raise ConfigError(
                    f"host {p.host} address {p.address} is inside 192.167.0.0/16, the docker-compose "
                    "network every KubeFATE party creates",
                    hint="use host addresses outside 192.167.0.0/16",
                )
        except ValueError:
            pass  # DNS names cannot be checked offline


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


def render_bundle(
    cluster: Cluster, party_id: int, package_dir: Path | None = None, role_dir: Path = ROLE_DIR
) -> dict[str, str]:
    """Return {relative path: content} for confs-<party_id>/; directories map to ''."""
    settings = settings_for(cluster, role_dir)
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
    raise ConfigError(
        f"KubeFATE package {path} does not exist", hint="pass a tarball or a docker-deploy/ directory"
    )


def write_plan(cluster: Cluster, out_dir: Path, package_dir: Path | None = None) -> list[Path]:
    """Write parties.conf and confs-<id>/ for every party under out_dir; return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "parties.conf"]
    written[0].write_text(render_parties_conf(cluster))
    for p in cluster.parties:
        root = out_dir / f"confs-{p.party_id}"
        for rel, content in render_bundle(cluster, p.party_id, package_dir).items():
            target = root / PurePosixPath(rel)
            if rel.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubefate.render", description=__doc__.splitlines()[0])
    parser.add_argument("inventory", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--package", help="KubeFATE docker-compose tarball or unpacked docker-deploy/ dir")
    args = parser.parse_args(argv)
    try:
        cluster = load_inventory(args.inventory)
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
