"""The in-sandbox batch process: start pytest once, then fork once per mutant.

    python -m apprentice.tasks.mutation.in_sandbox.batch_runner JOBS.json RESULTS.jsonl      (inside the sandbox)

JOBS.json: `{"test_files": [...], "mutants": [{"path", "name", "line", "source", "tests",
"timeout_s"}, ...]}`: the file to mutate, the mutated function (its name and first line,
a decorator's line for a decorated one), the whole mutated file, the test node ids to run and
the mutant's wall-clock budget. pytest collects `test_files` once (the test modules, and through
them the clean code, are imported once). Then, per mutant, a forked child writes the mutated
file, swaps the mutated function's code object into every live function object built from the
clean one (so `from m import f` in a test module sees the mutant too), runs the selected test
items through pytest's own runtest protocol and writes one record of per-test outcomes. The
parent waits at most the mutant's budget (then kills the child's process group), puts the clean
file back and appends one line to RESULTS.jsonl per mutant, in job order.

The parent never runs mutated code. A mutant that kills this whole process costs its own
record: the caller sees the missing lines and judges that mutant alone. Standard library and
pytest only: this module runs inside the sandbox.
"""

from __future__ import annotations

import contextlib
import gc
import json
import linecache
import math
import os
import resource
import select
import signal
import sys
import time
import types
from collections import defaultdict

import pytest

MESSAGE_CHARS = 4000  # as the JUnit reader keeps: enough for a traceback's last frames
# junit's precedence when one test has several reports (a failing call and a failing teardown)
_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def find_code(module_code: types.CodeType, name: str, line: int) -> types.CodeType | None:
    """The code object of function `name` (its last dotted part) starting at `line`, at any depth."""
    short = name.rsplit(".", 1)[-1]
    stack = [module_code]
    while stack:
        code = stack.pop()
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                if const.co_name == short and const.co_firstlineno == line:
                    return const
                stack.append(const)
    return None


def live_functions(paths: set[str]) -> dict[tuple[str, str, int], list[types.FunctionType]]:
    """(real path, function name, first line) -> the function objects of those files alive now."""
    index: dict[tuple[str, str, int], list[types.FunctionType]] = defaultdict(list)
    real_paths: dict[str, str] = {}
    for obj in gc.get_objects():
        if not isinstance(obj, types.FunctionType):
            continue
        code = obj.__code__
        if code.co_filename not in real_paths:
            real_paths[code.co_filename] = os.path.realpath(code.co_filename)
        real = real_paths[code.co_filename]
        if real in paths:
            index[(real, code.co_name, code.co_firstlineno)].append(obj)
    return index


class BatchPlugin:
    """The pytest plugin that replaces the test loop with the per-mutant fork loop."""

    def __init__(self, jobs: dict, results_path: str):
        self.jobs, self.results_path = jobs, results_path
        self.cases: dict[str, dict] = {}  # filled in a child only: the parent runs no test
        self.record_dir = os.path.dirname(os.path.abspath(results_path))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        """Instead of running the session's tests: one fork per mutant, one result line each."""
        items = {item.nodeid: item for item in session.items}
        paths = {os.path.realpath(job["path"]) for job in self.jobs["mutants"]}
        functions = live_functions(paths)
        clean = {path: _read_bytes(path) for path in paths}
        gc.freeze()  # the collected objects stay shared with every child instead of being copied
        for index, job in enumerate(self.jobs["mutants"]):
            path = os.path.realpath(job["path"])
            short_name = job["name"].rsplit(".", 1)[-1]  # `Class.method` -> the code object's `method`
            record = self._one(index, job, items, functions.get((path, short_name, job["line"]), []))
            with open(path, "wb") as handle:  # the child wrote the mutant; put the clean file back
                handle.write(clean[path])
            with open(self.results_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        return True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold a phase's report (setup, call, teardown) into its test's outcome (in a child)."""
        case = self.cases.setdefault(report.nodeid, {"status": "passed", "duration_s": 0.0, "message": ""})
        case["duration_s"] += report.duration
        if report.passed:
            return
        status = "skipped" if report.skipped else ("failed" if report.when == "call" else "error")
        if _RANK[status] > _RANK[case["status"]]:
            case["status"], case["message"] = status, _message(report)

    def _one(self, index: int, job: dict, items: dict, targets: list[types.FunctionType]) -> dict:
        path = os.path.realpath(job["path"])
        new_code = find_code(compile(job["source"], path, "exec"), job["name"], job["line"])
        if new_code is None or not targets:
            return {"status": "unpatchable", "detail": f"no live function {job['name']} at line {job['line']}"}
        if any(len(new_code.co_freevars) != len(target.__code__.co_freevars) for target in targets):
            return {"status": "unpatchable", "detail": "the mutant changes the function's closure cells"}
        selected = [items[test] for test in job["tests"] if test in items]
        record_path = os.path.join(self.record_dir, f"record-{index}.json")
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                os.setpgid(0, 0)
                self._child(job, path, new_code, targets, selected, record_path)
                code = 0
            finally:
                os._exit(code)  # never return into the parent's pytest session
        # Both sides set the group (the usual idiom): a kill on timeout must find it either way.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.setpgid(pid, pid)
        return self._wait(pid, job["timeout_s"], record_path, started)

    def _child(self, job: dict, path: str, new_code: types.CodeType, targets: list, selected: list,
               record_path: str) -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        budget = math.ceil(job["timeout_s"]) + 1
        if hard == resource.RLIM_INFINITY or budget < hard:
            resource.setrlimit(resource.RLIMIT_CPU, (budget, hard))
        # On disk too: a test that reads the source or starts a subprocess sees the mutant.
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(job["source"])
        linecache.checkcache(path)
        for target in targets:
            target.__code__ = new_code
        for position, item in enumerate(selected):
            nextitem = selected[position + 1] if position + 1 < len(selected) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        partial = record_path + ".part"
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump({"status": "ran", "cases": self.cases}, handle)
        os.replace(partial, record_path)  # a child killed mid-write leaves no record, not half of one

    def _wait(self, pid: int, timeout_s: float, record_path: str, started: float) -> dict:
        handle = os.pidfd_open(pid)
        try:
            finished = select.select([handle], [], [], timeout_s)[0]
        finally:
            os.close(handle)
        if not finished:
            _kill_group(pid)
            os.kill(pid, signal.SIGKILL)  # the child itself, even if it left its group
        _, status = os.waitpid(pid, 0)
        _kill_group(pid)  # whatever the child started and left behind in its group
        duration = time.monotonic() - started
        if not finished:
            return {"status": "timeout", "duration_s": duration, "detail": f"killed after {timeout_s:.1f}s"}
        if not os.path.isfile(record_path):
            return {"status": "no-report", "duration_s": duration,
                    "detail": f"no test report (exit {os.waitstatus_to_exitcode(status)})"}
        with open(record_path, encoding="utf-8") as handle:
            record = json.load(handle)
        os.unlink(record_path)
        return {**record, "duration_s": duration}


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is already empty: nothing to stop
        os.killpg(pid, signal.SIGKILL)


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    head = crash.message if crash is not None else ""
    if report.skipped and isinstance(report.longrepr, tuple):
        head = str(report.longrepr[2])
    return f"{head}\n{report.longreprtext}"[:MESSAGE_CHARS]


def main(argv: list[str]) -> int:
    """Run the batch described by JOBS.json; 0 once every mutant has its line in RESULTS.jsonl."""
    jobs_path, results_path = argv
    with open(jobs_path, encoding="utf-8") as handle:
        jobs = json.load(handle)
    open(results_path, "w", encoding="utf-8").close()
    plugin = BatchPlugin(jobs, results_path)
    # --tb=native: pytest's default long tracebacks (source and locals per frame) cost tens of
    # milliseconds per failing test, more than the test; the crash line (what the task statement
    # quotes, as the JUnit report's message does) is the same.
    pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir=.", "--tb=native", *jobs["test_files"]],
                plugins=[plugin])
    with open(results_path, encoding="utf-8") as handle:
        done = sum(1 for _ in handle)
    return 0 if done == len(jobs["mutants"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
