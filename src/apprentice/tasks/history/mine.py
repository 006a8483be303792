"""Tasks from git history: keep the commits that fix a bug their own new tests expose.

    stats = mine_commits(Path("repo"), "python", Path("tasks.jsonl"))

The walk (PyDriller, oldest first) drops commits by metadata (`commit_filter.drop_reason`). Each
remaining candidate is checked by execution: the buggy state (the parent plus the commit's test
changes) and the fixed state (the commit) are tested in the sandbox; the commit becomes a `Task`
when at least one test fails before the code change and passes after it and no passing test
breaks. Tasks are appended one whole line at a time; `<out>.stats.json` (rewritten atomically
after every candidate) records each candidate's outcome, so a rerun resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydriller import Repository

from apprentice.artifacts import atomic_write_json, ensure_writable
from apprentice.data.records import append_line
from apprentice.errors import CommitMiningError
from apprentice.languages.language import Language
from apprentice.languages.registry import get_language
from apprentice.sandbox import Limits
from apprentice.tasks.history import git as commit_git
from apprentice.tasks.history.commit_filter import (
    DROP_REASONS,
    CommitFacts,
    clean_message,
    drop_reason,
    split_test_and_code,
)
from apprentice.tasks.history.scope import ChangeScope, functions_touching, split_file_diffs, touched_lines
from apprentice.tasks.history.test_runs import compare_runs, run_tree_tests, task_test_ids
from apprentice.tasks.mutation.engine import DIFFICULTY_LEVELS, changed_lines, difficulty_tier
from apprentice.tasks.mutation.records import HUMAN_TEST_COMMANDS
from apprentice.tasks.task import RepoRef, Task, read_tasks

KEPT = "kept"
DEFAULT_LIMITS = Limits(wall_seconds=300.0, cpu_seconds=300)  # a real suite file can take minutes


@dataclass
class MiningStats:
    """Counters of one mining run (an accumulator, so not frozen); `outcomes` makes it resumable."""

    repo: str
    language: str
    seen: int = 0
    candidates: int = 0  # passed the metadata filter
    dropped: Counter[str] = field(default_factory=Counter)
    outcomes: dict[str, str] = field(default_factory=dict)  # candidate sha -> KEPT or a drop reason
    seconds: float = 0.0

    @property
    def validated(self) -> int:
        """Candidates kept as tasks (fail-to-pass shown by execution)."""
        return sum(outcome == KEPT for outcome in self.outcomes.values())

    def to_record(self) -> dict[str, object]:
        """The `stats.json` summary: seen, dropped per reason, validated, and the resume state."""
        return {"repo": self.repo, "language": self.language, "seen": self.seen, "candidates": self.candidates,
                "validated": self.validated, "dropped": dict(sorted(self.dropped.items())),
                "seconds": round(self.seconds, 3), "outcomes": self.outcomes}


@dataclass(frozen=True)
class MiningSource:
    """Where tasks point back to: the repository, and the package holding it (if any)."""

    repo: Path
    package: str = ""  # the repo package directory, empty for a plain clone
    tools: Mapping[str, str] = field(default_factory=dict)  # executables overriding the host's (a venv python)


def stats_path(out: Path) -> Path:
    """`tasks.jsonl` -> `tasks.stats.json`."""
    return out.with_name(f"{out.stem}.stats.json")


def mine_commits(repo: Path, language: str, out: Path, *, limits: Limits = DEFAULT_LIMITS,
                 max_commits: int | None = None, max_tasks: int | None = None,
                 source: MiningSource | None = None,
                 on_commit: Callable[[MiningStats, int], None] | None = None) -> MiningStats:
    """Walk `repo`'s history (HEAD, detached or not), append validated tasks to `out` (JSONL).

    The walk stops after `max_commits` commits or once `out` holds `max_tasks` tasks (resumed ones
    count). `on_commit(stats, total)` is called after every commit (progress bars). Raises
    CommitMiningError for a shallow clone or a path that is no repository.
    """
    repo, lang = Path(repo).resolve(), get_language(language)
    source = source or MiningSource(repo)
    head = commit_git.check_history(repo)
    changes = commit_git.numstat(repo, head)
    ensure_writable(out.parent)
    _drop_partial_line(out)
    stats = _resumed_stats(out, repo, lang.name)
    total = min(len(changes), max_commits or len(changes))
    started = time.monotonic()
    for commit in Repository(str(repo), to_commit=head).traverse_commits():
        if stats.seen >= total or (max_tasks is not None and stats.validated >= max_tasks):
            break
        facts = CommitFacts(commit.hash, commit.msg, commit.author.name or "", commit.author.email or "",
                            len(commit.parents), changes.get(commit.hash, ()))
        _mine_one(facts, commit.parents[:1], lang, out, stats, source, limits)
        stats.seconds = time.monotonic() - started
        if on_commit is not None:
            on_commit(stats, total)
    atomic_write_json(stats_path(out), stats.to_record())
    return stats


def _mine_one(facts: CommitFacts, parents: list[str], language: Language, out: Path, stats: MiningStats,
              source: MiningSource, limits: Limits) -> None:
    stats.seen += 1
    reason = drop_reason(facts, language)
    if reason is None:
        stats.candidates += 1
        outcome = stats.outcomes.get(facts.sha) or _validate(facts, parents[0], language, out, source, limits)
        stats.outcomes[facts.sha] = outcome
        atomic_write_json(stats_path(out), stats.to_record())
        reason = None if outcome == KEPT else outcome
    if reason is not None:
        stats.dropped[reason] += 1


def _validate(facts: CommitFacts, parent: str, language: Language, out: Path, source: MiningSource,
              limits: Limits) -> str:
    """KEPT after appending the task (with the files and functions it changed) to `out`, else the drop reason."""
    repo = source.repo
    statuses = commit_git.changed_paths(repo, parent, facts.sha)
    tests, code = split_test_and_code(language, tuple(statuses))
    if not tests:
        return "no_test_change"
    if not any(path.endswith(language.extensions) for path in code):
        return "no_code_change"
    test_files = tuple(path for path in tests if statuses[path] != "D" and _is_test_file(language, path))
    if language.name == "python" and not test_files:
        return "no_test_change"
    buggy = commit_git.buggy_state(repo, parent, facts.sha, tests)
    with commit_git.exported_tree(repo, buggy) as tree:
        before = run_tree_tests(language, tree, test_files, limits, source.tools)
    with commit_git.exported_tree(repo, facts.sha) as tree:
        after = run_tree_tests(language, tree, test_files, limits, source.tools)
    comparison = compare_runs(before, after)
    fail_to_pass = task_test_ids(language, comparison.fail_to_pass, test_files)
    if comparison.reason is not None or not fail_to_pass:
        return comparison.reason or "no_fail_to_pass"
    bug = commit_git.diff(repo, facts.sha, parent, code)
    scope = change_scope(repo, language, parent, facts.sha, code)
    task = Task(
        id=f"commits-{repo.name}-{facts.sha[:12]}", language=language.name,
        source="package" if source.package else "commits",
        repo=RepoRef(str(repo), buggy, source.package), bug=bug, fail_to_pass=fail_to_pass,
        pass_to_pass=task_test_ids(language, comparison.pass_to_pass, test_files),
        test_command=HUMAN_TEST_COMMANDS[language.name], origin=f"commit {facts.sha}",
        statement=clean_message(facts.message),
        difficulty=DIFFICULTY_LEVELS[difficulty_tier(max(changed_lines(bug), 1), len(fail_to_pass), len(code))],
        changed_files=scope.files, changed_symbols=scope.functions,
    )
    commit_git.pin(repo, facts.sha, buggy)
    append_line(out, task.to_json())
    return KEPT


def change_scope(repo: Path, language: Language, parent: str, sha: str, code: tuple[str, ...]) -> ChangeScope:
    """The files and functions (tree-sitter, in the old and new versions) the code change touched."""
    statuses = commit_git.changed_paths(repo, parent, sha)
    functions = set()
    for path, file_diff in split_file_diffs(commit_git.diff(repo, parent, sha, code)).items():
        if not path.endswith(language.extensions):
            continue
        removed, added = touched_lines(file_diff)
        old = commit_git.file_at(repo, parent, path) if statuses.get(path) != "A" else ""
        new = commit_git.file_at(repo, sha, path) if statuses.get(path) != "D" else ""
        names = functions_touching(old, removed, language.name) | functions_touching(new, added, language.name)
        functions.update(f"{path}::{name}" for name in names)
    return ChangeScope(code, tuple(sorted(functions)))


def _is_test_file(language: Language, path: str) -> bool:
    if language.name != "python":
        return path.endswith(language.extensions)
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _drop_partial_line(path: Path) -> None:
    """Cut a trailing line without its newline (a crash mid-write) before appending again."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def _resumed_stats(out: Path, repo: Path, language: str) -> MiningStats:
    """Fresh counters, carrying over the outcomes of candidates a previous run already validated.

    Tasks already in `out` count as kept even when the stats file missed them (a crash between
    the two writes), so a rerun never appends a task twice.
    """
    stats = MiningStats(str(repo), language)
    previous = stats_path(out)
    if previous.is_file():
        stats.outcomes = _recorded_outcomes(previous, repo, language)
    if out.is_file():
        for task in read_tasks(out):
            stats.outcomes[task.origin.removeprefix("commit ")] = KEPT
    return stats


def _recorded_outcomes(previous: Path, repo: Path, language: str) -> dict[str, str]:
    try:
        record = json.loads(previous.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CommitMiningError(f"{previous} is not valid JSON ({error}); delete it to mine from scratch") from None
    if record.get("repo") != str(repo) or record.get("language") != language:
        raise CommitMiningError(f"{previous} belongs to {record.get('repo')} ({record.get('language')}); "
                                f"choose another --out for {repo} ({language})")
    unknown = sorted(set(record.get("outcomes", {}).values()) - set(DROP_REASONS) - {KEPT})
    if unknown:
        raise CommitMiningError(f"{previous} records unknown outcomes {unknown}; delete it to mine from scratch")
    return dict(record.get("outcomes", {}))
