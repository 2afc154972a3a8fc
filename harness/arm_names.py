"""The arms every study has, by the names results.json, the statistics and the report use.

One definition below every package: the study names its arms with these (harness/study/scenario.py),
the multi-seed statistics pair them (harness/stats/aggregate.py), the report labels them
(harness/report/results.py).
"""

FEDERATED = "federated"
CENTRALIZED = "centralized"
LOCAL_PREFIX = "local:"
