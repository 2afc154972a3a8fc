"""Enum members pickled by value, on the Pythons that pickle them through ``builtins.getattr``.

CPython 3.11.2 (Debian bookworm's, which the lab hosts run) pickles an Enum member as
``getattr(EnumClass, name)``; later 3.11 releases pickle it by value, ``EnumClass(value)``. FATE 2.2's
federation unpickler is restricted by default (``fate/arch/federation/api/_serdes.py``, allowlist
without ``builtins.getattr``), so on such a host every message holding an Enum member - a FATE
DataFrame carries its ``BlockType`` - is refused by the receiving party. Seen on the lab: SecureBoost's
``en_gh`` and coordinated LR's ``Xw2_h`` failed with "Deserialization is restricted for class
`builtins`.`getattr`". By value, the unpickler only looks up the Enum class, which it allows for
FATE's own modules; nothing is added to the allowlist.

``fatelab_enum_pickle.pth`` imports this module at interpreter start, before FATE defines its enums:
an Enum class copies ``__reduce_ex__`` when it is created, so classes made earlier keep the old one.
"""

from __future__ import annotations

import enum
import pickle
from typing import Any


def _by_value(self: enum.Enum, proto: int) -> tuple[Any, tuple[Any]]:
    return self.__class__, (self._value_,)


class _Probe(enum.Enum):
    MEMBER = 1


def pickles_through_getattr() -> bool:
    """Whether this interpreter's Enum pickling references ``builtins.getattr``."""
    return b"getattr" in pickle.dumps(_Probe.MEMBER)


if pickles_through_getattr():
    enum.Enum.__reduce_ex__ = _by_value  # type: ignore[method-assign,assignment]
