"""Errors the user can act on.

Every failure a user can cause or fix (bad data, bad config, an unreachable host, a failed FATE job)
is raised as a :class:`FatelabError` subclass. The CLI prints ``message`` and ``hint`` on one or two
lines and exits non-zero, without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class FatelabError(Exception):
    """A failure with a message for the user and, optionally, what to do about it."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class DataError(FatelabError):
    """The input data cannot be used: missing columns, empty, not CSV, one class only."""


class ConfigError(FatelabError):
    """The study or cluster configuration is invalid (duplicate party IDs, bad ratios, ...)."""


class EngineError(FatelabError):
    """The FATE engine could not be started, reached, or failed a job."""

    exit_code = 3


class HostError(FatelabError):
    """A remote host is unreachable, its key changed, or a transfer failed."""

    exit_code = 4


def raise_collected(
    errors: Sequence[FatelabError], *, summary: str | None = None, kind: type[FatelabError] = EngineError
) -> None:
    """Per-party work run in parallel: one failure is re-raised as it is, several become one ``kind``.

    Without ``summary`` the messages are joined line by line under the first hint; with it they are
    listed under ``summary`` and every distinct hint is kept.
    """
    if len(errors) == 1:
        raise errors[0]
    if not errors:
        return
    if summary is None:
        raise kind("\n".join(e.message for e in errors), hint=errors[0].hint)
    raise kind(
        f"{summary}:\n" + "\n".join(f"  - {e.message}" for e in errors),
        hint="; ".join(dict.fromkeys(e.hint for e in errors if e.hint)) or None,
    )
