"""Statistics over the seeds of a multi-seed study: intervals, paired comparisons, claims.

Pure functions over plain dicts (the per-seed results the pipeline produces); nothing here reads or
writes files. ``aggregate.aggregate`` is the entry point; the report renders its output
(harness/report/seeds.py).
"""
