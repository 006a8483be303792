"""CLI tests reuse the data and grading tests' fixture modules (fixture_tasks, trajectory_factory, grading_fixtures)."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for folder in ("data", "grading", "agent"):
    if str(TESTS / folder) not in sys.path:
        sys.path.append(str(TESTS / folder))
