"""A scenario's own report sections: the one hook report.md and report.html both render.

Each provider is a pure function ``results -> list[Section]`` that reads the JSON-normalised results
(the same dict written to results.json) at render time and returns [] when the results are not its
scenario's. report.md (:mod:`harness.report.markdown`) and report.html (:mod:`harness.report.html`)
lay the same sections out, each in its own format (:func:`harness.report.markup.section_md`,
:func:`harness.report.markup.section_html`). A new scenario with report sections of its own adds one
provider here; its numbers stay in its blocks of results.json, never as rendered text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.report import nn, vertical
from harness.report.markup import Section

Provider = Callable[[Mapping[str, Any]], list[Section]]

#: The deep-learning scenarios (mnist-cnn, imdb-lstm, thucnews-cnn) and lending-club-vertical.
PROVIDERS: tuple[Provider, ...] = (nn.sections, vertical.sections)


def scenario_sections(results: Mapping[str, Any]) -> list[Section]:
    """Every provider's sections for these results, in provider order ([] for the Lending Club study)."""
    return [section for provider in PROVIDERS for section in provider(results)]
