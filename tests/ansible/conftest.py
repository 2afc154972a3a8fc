"""Make the helpers importable and share one lab inventory between the Ansible lab tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
