"""The embedded FATE-Flow's self-call timeout patch reaches the code FATE-Flow calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Run in a fresh interpreter, as the server process gets it: the patch is process-wide.
PROBE = """
from harness.engines.fate22.flow_main import patch_self_call_timeouts
patch_self_call_timeouts(77)
from fate_flow.runtime import system_settings
from ofx.api.models.fate_flow import resource

def no_network(**kwargs):
    raise RuntimeError(kwargs["timeout"])

resource.requests.request = no_network
try:
    resource.APIClient().remote_on_http("POST", "/x", host="h", port=1, try_times=1, headers={})
except RuntimeError as used:
    print(system_settings.HTTP_REQUEST_TIMEOUT, used.args[0])
"""


def test_patched_self_calls_wait_longer_than_fates_ten_seconds(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    out = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["77", "77"]
