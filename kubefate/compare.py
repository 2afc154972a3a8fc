"""Compare a fatelab-rendered party bundle with the one KubeFATE's generate_config.sh produced.

Files are compared by meaning, not bytes: JSON/YAML parsed, ``.properties``/``.env`` as key=value
maps, SQL as statement lines. Comments and layout differ on purpose (fatelab writes its own
templates), so only a difference in parsed content counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Difference:
    path: str
    detail: str


def parse_config(name: str, text: str) -> Any:
    if name.endswith(".json"):
        return json.loads(text)
    if name.endswith((".yml", ".yaml")):
        return yaml.safe_load(text)
    if name.endswith((".properties", ".env", "parties.conf")) or name == ".env":
        return _key_values(text)
    if name.endswith(".sql"):
        return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    return text


def _key_values(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "[")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


def read_tree(root: Path) -> dict[str, str]:
    """{posix relative path: text} for every file under root."""
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def compare_trees(ours: dict[str, str], theirs: dict[str, str]) -> list[Difference]:
    diffs: list[Difference] = []
    for rel in sorted(set(ours) | set(theirs)):
        if rel not in ours:
            diffs.append(Difference(rel, "only in KubeFATE output"))
        elif rel not in theirs:
            diffs.append(Difference(rel, "only in fatelab output"))
        else:
            a, b = parse_config(rel, ours[rel]), parse_config(rel, theirs[rel])
            if a != b:
                diffs.extend(Difference(rel, d) for d in _describe(a, b, ""))
    return diffs


def _describe(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                out.append(f"{where}/{k}: missing in fatelab (KubeFATE: {b[k]!r})")
            elif k not in b:
                out.append(f"{where}/{k}: extra in fatelab ({a[k]!r})")
            elif a[k] != b[k]:
                out.extend(_describe(a[k], b[k], f"{where}/{k}"))
        return out
    return [f"{where or '/'}: fatelab {a!r} != KubeFATE {b!r}"]
