"""Entry point of the embedded FATE-Flow: FATE's own server, its scheduler's self-calls given time.

FATE-Flow schedules even a standalone job by HTTP calls to itself (``ofx`` ``remote_on_http``): each
call waits 10 s (a literal default there, and ``HTTP_REQUEST_TIMEOUT`` in fate_flow/settings.py)
and is tried 3 times. Creating a job is not idempotent: on a busy 2-core machine the first call
took 16 s, so FATE-Flow created the same job three times, 10 s apart, and answered the submitter
with an error (measured: three 3-party HomoLR jobs from one submit, none known to the harness,
all holding the engine). Waiting longer for its own answer keeps the retries for a server that is
really gone. Nothing else of FATE-Flow changes; the server is started exactly as
``fate_flow_server.py`` starts it.
"""

from __future__ import annotations

import functools
import runpy
import sys
from pathlib import Path
from typing import Any

SELF_CALL_TIMEOUT_S = 120


def patch_self_call_timeouts(seconds: float = SELF_CALL_TIMEOUT_S) -> None:
    import fate_flow.settings as settings  # before system_settings copies it

    settings.HTTP_REQUEST_TIMEOUT = seconds
    from ofx.api.models.fate_flow import resource

    original = resource.APIClient.remote_on_http
    if getattr(original, "fatelab_patched", False):
        return

    @functools.wraps(original)
    def remote_on_http(self: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", seconds)
        return original(self, *args, **kwargs)

    remote_on_http.fatelab_patched = True  # type: ignore[attr-defined]
    resource.APIClient.remote_on_http = remote_on_http


def main() -> None:
    server = sys.argv[1]
    patch_self_call_timeouts()
    # As if started as `python fate_flow_server.py`: its folder first on the path, its own argv.
    sys.path.insert(0, str(Path(server).parent))
    sys.argv = [server, *sys.argv[2:]]
    runpy.run_path(server, run_name="__main__")


if __name__ == "__main__":
    main()
