"""FATE's restricted federation unpickler accepts the Enum members a party sends, on every Python 3.11.

Debian bookworm's CPython 3.11.2 (the lab hosts') pickles an Enum member through ``builtins.getattr``,
which FATE 2.2 refuses; fatelab_nn/enum_pickle.py, loaded at interpreter start by a .pth file, makes
such a Python pickle by value. The subprocess test runs on that interpreter where the machine has it.
"""

from __future__ import annotations

import io
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fate.arch.federation.api._serdes import TableRemotePersistentUnpickler

ROOT = Path(__file__).resolve().parents[1]
ENUM_PROGRAM = """
import enum, pickle, sys
class Kind(str, enum.Enum):
    FLOAT = "float64"
sys.modules["kind_module"] = sys.modules["__main__"]
Kind.__module__ = "kind_module"
sys.stdout.write(str(b"getattr" in pickle.dumps(Kind.FLOAT)))
"""


def pickles_through_getattr(python: str, *, shim: bool) -> bool:
    code = ("import fatelab_nn.enum_pickle\n" if shim else "") + ENUM_PROGRAM
    out = subprocess.run([python, "-c", code], env={"PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                         check=True, timeout=60)
    return out.stdout == "True"


def test_fates_restricted_unpickler_accepts_a_fate_enum_member_from_this_python() -> None:
    from fate.arch.dataframe.manager.block_manager import BlockType

    import fatelab_nn.enum_pickle  # noqa: F401  (a no-op where this Python already pickles by value)

    member = next(iter(BlockType))
    unpickler = TableRemotePersistentUnpickler(None, None, "name", "tag", ("guest", "9999"),
                                               io.BytesIO(pickle.dumps(member)))
    assert unpickler.load() is member


def test_the_shim_makes_a_getattr_pickling_python_pickle_by_value() -> None:
    debian = shutil.which("python3.11", path="/usr/bin")
    if debian is None or not pickles_through_getattr(debian, shim=False):
        pytest.skip("no Python here that pickles Enum members through getattr (Debian bookworm's 3.11.2 does)")
    assert not pickles_through_getattr(debian, shim=True)


def test_this_python_pickles_by_value_with_the_shim() -> None:
    assert not pickles_through_getattr(sys.executable, shim=True)
