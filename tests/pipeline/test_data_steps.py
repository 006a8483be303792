"""How the pipeline picks the training tasks its data steps use."""

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
from fixture_tasks import fixture_task  # noqa: E402

from apprentice.pipeline.data_steps import spread_over_files  # noqa: E402


def _task_in(path: str, number: int):
    task = fixture_task("python")
    bug = f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b\n"
    return dataclasses.replace(task, id=f"{path}-{number}", bug=bug)


def test_tasks_are_taken_round_robin_over_files_in_their_order():
    tasks = [_task_in("src/a.py", n) for n in range(3)] + [_task_in("src/b.py", n) for n in range(2)] + [_task_in("src/c.py", 0)]
    chosen = [task.id for task in spread_over_files(tasks, 4)]
    assert chosen == ["src/a.py-0", "src/b.py-0", "src/c.py-0", "src/a.py-1"]
    assert [task.id for task in spread_over_files(tasks, None)][4:] == ["src/b.py-1", "src/a.py-2"]
    assert len(spread_over_files(tasks, 100)) == len(tasks)
    assert spread_over_files([], 3) == []
