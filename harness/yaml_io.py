"""Read the YAML files a user writes (inventories, study configs) strictly.

PyYAML's loaders keep the last of two equal mapping keys. In an inventory where a host block was
copied and its name not changed, that silently drops a party; in a study config it silently drops a
setting. Every YAML the harness reads from a user goes through :func:`load_yaml_file`, which refuses
a repeated key and names it with both line numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises on a mapping key seen twice in the same mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            # Merge keys (<<) legitimately repeat; SafeLoader's flatten_mapping resolves them.
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.setdefault(key, line)
            except TypeError:
                continue  # an unhashable key: SafeLoader itself reports it below
            if first != line:
                raise DuplicateKeyError(key, first, line)
        return super().construct_mapping(node, deep=deep)


class DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: Any, first_line: int, line: int) -> None:
        super().__init__(f"key {key!r} appears twice in one mapping (line {first_line} and line {line})")
        self.key = key
        self.first_line = first_line
        self.line = line


def load_yaml_text(text: str) -> Any:
    """Parse YAML with safe types only, refusing duplicate keys (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def load_yaml_file(path: Path, what: str, *, missing_hint: str | None = None) -> Any:
    """Read ``path`` as YAML; one ``ConfigError`` naming ``what`` and the file for any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} {path} does not exist", hint=missing_hint) from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{what} {path} is a directory, not a YAML file", hint=missing_hint) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from exc
    try:
        return load_yaml_text(text)
    except DuplicateKeyError as exc:
        raise ConfigError(
            f"{what} {path}: {exc}",
            hint="a copied block whose name was not changed? give every key its own name "
            "(YAML would otherwise keep only the last one)",
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}", hint="fix the YAML syntax") from exc
