"""Language tests reuse the grading helpers (tiny repositories as tasks, patches from edits)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grading"))
