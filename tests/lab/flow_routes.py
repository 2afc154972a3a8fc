"""Every HTTP route of the installed FATE-Flow 2.2, read from its source (fate_flow/apps/*/*_app.py).

FATE-Flow registers each ``apps/<group>/<name>_app.py`` as a blueprint under ``/v2/<page_name>``
(``fate_flow/apps/__init__.py``, ``register_page``): ``page_name`` is the module's own ``page_name`` or
the file name without ``_app``. Reading the source (not importing it: importing ``fate_flow.apps``
starts the server's initialisation) keeps the isolation tests in step with the installed version.

``python tests/lab/flow_routes.py`` prints the table docs/security.md is built from.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

API_VERSION = "v2"
# Groups whose routes one party's FATE-Flow calls on another (the only ones nginx passes between sites).
INTERSITE_GROUPS = ("partner", "scheduler")
_ROUTE = re.compile(r"""@manager\.route\(\s*['"]([^'"]+)['"]\s*,\s*methods\s*=\s*\[([^\]]*)\]""")
_PAGE = re.compile(r"""^page_name\s*=\s*(?:['"]([^'"]+)['"]|([A-Z_]+))""", re.M)
_CONST = r"""^{name}\s*=\s*['"]([^'"]+)['"]"""


@dataclass(frozen=True)
class Route:
    group: str  # client, partner, scheduler, worker
    method: str
    path: str  # /v2/<page>/<rule>, with <var> placeholders as in the source
    source: str  # fate_flow/apps/<group>/<file>:<line>

    @property
    def intersite(self) -> bool:
        return self.group in INTERSITE_GROUPS

    def concrete_path(self) -> str:
        return re.sub(r"<[^>]+>", "1", self.path)


def package_dir() -> Path:
    spec = importlib.util.find_spec("fate_flow")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fate_flow is not installed in this environment (make setup)")
    return Path(next(iter(spec.submodule_search_locations)))


def _page_name(source: str, stem: str, settings: str) -> str:
    match = _PAGE.search(source)
    if not match:
        return stem[: -len("_app")]
    if match.group(1):
        return match.group(1)
    const = re.search(_CONST.format(name=match.group(2)), settings, re.M)
    if not const:
        raise RuntimeError(f"page_name constant {match.group(2)} not found in fate_flow's system_settings")
    return const.group(1)


def routes(package: Path | None = None) -> list[Route]:
    package = package or package_dir()
    settings = (package / "runtime" / "system_settings.py").read_text()
    found = []
    for app in sorted((package / "apps").glob("*/*_app.py")):
        source = app.read_text()
        page = _page_name(source, app.stem, settings)
        for match in _ROUTE.finditer(source):
            rule, methods = match.group(1), re.findall(r"""['"](\w+)['"]""", match.group(2))
            line = source.count("\n", 0, match.start()) + 1
            for method in methods:
                found.append(
                    Route(
                        group=app.parent.name,
                        method=method.upper(),
                        path=f"/{API_VERSION}/{page}/{rule.lstrip('/')}",
                        source=f"fate_flow/apps/{app.parent.name}/{app.name}:{line}",
                    )
                )
    return found


if __name__ == "__main__":
    for route in routes():
        print(f"| {route.group} | {route.method} | `{route.path}` | {route.source} |")
