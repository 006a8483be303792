"""How the pipeline picks the training tasks its data steps use."""

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
from fixture_tasks import fixture_task  # noqa: E402

from apprentice.pipeline.data_steps import spread_held_out, spread_over_files  # noqa: E402


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


def test_a_capped_held_out_set_takes_levels_then_kinds_then_files_in_turn():
    def task(path, number, level, operator):
        return dataclasses.replace(_task_in(path, number), id=f"{path}-{number}-{operator}-L{level}",
                                   source="mutation", origin=operator, level=level)

    # In file order, the first four are all statement_delete at level 1 of src/a.py.
    tasks = ([task("src/a.py", n, 1, "statement_delete") for n in range(4)] + [task("src/b.py", 0, 1, "statement_delete")]
             + [task("src/a.py", 9, 1, "compare_swap"), task("src/c.py", 0, 0, "statement_delete"),
                task("src/c.py", 1, 0, "bool_flip")])
    chosen = spread_held_out(tasks, 4)
    assert [(t.level, t.bug_kind) for t in chosen] == [(1, "statement_delete"), (0, "statement_delete"),
                                                      (1, "compare_swap"), (0, "bool_flip")]
    assert [t.bug_file for t in spread_held_out(tasks, None) if t.bug_kind == "statement_delete" and t.level == 1][:2] \
        == ["src/a.py", "src/b.py"]  # files in turn within a kind
    assert sorted(t.id for t in spread_held_out(tasks, None)) == sorted(t.id for t in tasks)


def test_levels_are_dealt_evenly_and_a_level_no_task_has_is_one_error():
    import dataclasses

    import pytest

    from apprentice.errors import TaskFormatError
    from apprentice.pipeline.data_steps import deal_levels

    base = fixture_task("python")
    tasks = [dataclasses.replace(base, id=f"t-{i}", statements=(f"line {i}", base.statement, "tests fail"))
             for i in range(9)]
    dealt = deal_levels(tasks, [0, 1, 2])
    assert [task.id for task in dealt] == [task.id for task in tasks]  # order kept
    assert sorted(task.level for task in dealt) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(task.statement == task.statements[task.level] for task in dealt)
    assert deal_levels(tasks, [0, 1, 2]) == dealt and deal_levels([base], [1]) == [base]
    with pytest.raises(TaskFormatError, match="set tasks.levels to"):
        deal_levels([base], [0])
