"""Killed mutants into `Task` records, each pinned to a buggy commit of the task repository.

Grading exports a task's `repo.commit` as the tree the agent starts from, so every task gets a
commit: the clean commit with the one mutated file swapped in, kept alive by a ref
(`refs/apprentice/mutants/<task id>`). Only git objects and refs are written, never the working
tree, the index or HEAD.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from apprentice.tasks.history.git import _TASK_IDENTITY, git
from apprentice.tasks.mutation.engine import DIFFICULTY_LEVELS, Mutant, changed_lines, difficulty_tier
from apprentice.tasks.mutation.validation import Verdict, mutated_source
from apprentice.tasks.statement import located_statement, symptom_statement, task_statement
from apprentice.tasks.task import RepoRef, Task

MUTANT_REF_PREFIX = "refs/apprentice/mutants/"
# How a person runs a language's tests (Task.test_command); grading uses the language's own runner.
HUMAN_TEST_COMMANDS = {
    "python": ("python", "-m", "pytest"),
    "rust": ("cargo", "test"),
    "go": ("go", "test", "./..."),
    "typescript": ("npx", "tsc", "&&", "node", "--test"),
}


def mutant_key(mutant: Mutant) -> str:
    """A stable id of a mutant: its fixed file's hash and its diff (the dedupe key of `mutate.dedupe`)."""
    return hashlib.sha256(f"{mutant.source_sha256}\n{mutant.diff}".encode()).hexdigest()[:16]


def task_from_verdict(verdict: Verdict, repo: Path, clean_commit: str) -> Task:
    """The Task of a killed mutant; writes its buggy commit and ref into `repo`."""
    mutant = verdict.mutant
    task_id = f"mutant-{mutant.language}-{mutant_key(mutant)}"
    buggy = buggy_commit(repo, clean_commit, mutant, task_id)
    tier = difficulty_tier(changed_lines(mutant.diff), len(verdict.fail_to_pass), 1)
    statements = (located_statement(mutant.operator, mutant.path, mutant.line, verdict.failures),
                  task_statement(mutant.function, mutant.path, verdict.failures), symptom_statement(verdict.failures))
    return Task(
        id=task_id, language=mutant.language, source="mutation", repo=RepoRef(str(repo), buggy),
        bug=mutant.diff, fail_to_pass=verdict.fail_to_pass, pass_to_pass=verdict.pass_to_pass,
        test_command=HUMAN_TEST_COMMANDS[mutant.language], origin=mutant.operator,
        statement=statements[1], difficulty=DIFFICULTY_LEVELS[tier], level=1, statements=statements,
    )


def buggy_commit(repo: Path, clean_commit: str, mutant: Mutant, task_id: str) -> str:
    """The clean commit with `mutant` applied to its file, as a new commit pinned by a ref."""
    mutated = mutated_source(git(repo, "show", f"{clean_commit}:{mutant.path}"), mutant)
    blob = git(repo, "hash-object", "-w", "--stdin", stdin=mutated.encode("utf-8")).strip()
    mode = git(repo, "ls-tree", clean_commit, "--", mutant.path).split(" ")[0]
    with tempfile.TemporaryDirectory(prefix="apprentice-index-") as holder:
        env = {"GIT_INDEX_FILE": str(Path(holder) / "index")}
        git(repo, "read-tree", clean_commit, env=env)
        git(repo, "update-index", "--cacheinfo", f"{mode},{blob},{mutant.path}", env=env)
        tree = git(repo, "write-tree", env=env).strip()
    message = f"apprentice: mutant {mutant.operator} in {mutant.function} ({mutant.path}:{mutant.line})\n"
    commit = git(repo, "commit-tree", tree, "-p", clean_commit, env=_TASK_IDENTITY, stdin=message.encode()).strip()
    git(repo, "update-ref", f"{MUTANT_REF_PREFIX}{task_id}", commit)
    return commit


def reverse_diff(diff: str) -> str:
    """The unified diff that undoes `diff` (the fix of a bug given as fixed -> buggy).

    The file headers stay as they are (`--- a/p`, `+++ b/p`: the mutation never renames).
    """
    out, in_hunk = [], False
    for line in diff.splitlines(keepends=True):
        if line.startswith("@@"):
            in_hunk = True
            old, new = line.split(" ")[1:3]
            out.append(line.replace(f"{old} {new}", f"-{new[1:]} +{old[1:]}", 1))
        elif in_hunk and line[:1] in ("+", "-"):
            out.append(("-" if line[0] == "+" else "+") + line[1:])
        else:
            out.append(line)
    return "".join(out)
