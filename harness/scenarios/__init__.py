"""The scenarios: one module each, defining ``SCENARIO`` (see harness/study/scenario.py, docs/scenarios.md).

Modules whose name starts with ``_`` are helpers, not scenarios.
"""
