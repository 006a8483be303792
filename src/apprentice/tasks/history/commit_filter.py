"""Which commits of a history can become tasks: the commit filter of SPEC §6, as a plain function.

`drop_reason(facts, language)` looks only at commit metadata (message, author, parents, per-file
line counts), so it is fast, needs no checkout and is unit-tested per reason without git. The
reasons are a fixed vocabulary (`DROP_REASONS`): the mining summary counts commits under them.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from apprentice.grading.surface import on_test_surface
from apprentice.languages.language import Language

MAX_FILES = 5  # SPEC §6: 1-5 files; more is a feature or a refactor, not one bug fix
MAX_CHANGED_LINES = 200  # SPEC §6: under 200 added + deleted lines
MIN_MESSAGE_WORDS = 3  # SPEC §6: "fix bug" says nothing an agent could act on

# Metadata reasons (drop_reason) first, then the ones only a checkout and a test run can decide.
DROP_REASONS: dict[str, str] = {
    "root_commit": "the first commit has no parent to turn into the buggy state",
    "merge": "merge commit (more than one parent)",
    "bot_author": "written by a bot (dependabot, renovate, github-actions, [bot])",
    "no_files": "changes no file",
    "too_many_files": f"changes more than {MAX_FILES} files",
    "too_many_lines": f"changes {MAX_CHANGED_LINES} or more lines",
    "binary_file": "changes a binary file",
    "short_message": f"message under {MIN_MESSAGE_WORDS} words",
    "vague_message": "message is wip/misc/update/fixup/typo-like",
    "version_bump": "message or files say it is a version bump or release",
    "not_imperative": "message does not start with an imperative verb (Fixed..., Adding...)",
    "docs_only": "changes only documentation",
    "ci_only": "changes only CI configuration",
    "language_mismatch": "changes no source file of the language",
    "no_test_change": "changes no test file, so nothing shows the fix",
    "no_code_change": "changes only tests, so there is no fix to revert",
    "tests_not_runnable": "the tests timed out, hit a limit or reported nothing in the sandbox",
    "no_fail_to_pass": "no test fails before the code change and passes after it",
    "breaks_passing_tests": "a test passing before the code change fails after it",
}

_BOT_MARKERS = ("[bot]", "dependabot", "renovate", "github-actions", "greenkeeper", "pre-commit-ci")
_VAGUE_WORDS = frozenset({"wip", "misc", "update", "updates", "updated", "fixup", "squash", "tmp", "temp",
                          "minor", "cleanup", "stuff", "changes", "typo", "oops", "test", "tests"})
_VERSION_BUMP = re.compile(r"(?i)\b(bump(ed|s)?\b.*\bversion|version\s+bump|release\s+v?\d|prepare\s+(for\s+)?"
                           r"release|^v?\d+(\.\d+)+$|bump\s+to\s+v?\d|set\s+version)")
_CONVENTIONAL_PREFIX = re.compile(r"^\s*[A-Za-z]+(\([^)]*\))?!?:\s*")  # "fix(parser): ..." -> "..."
_ISSUE_REFERENCE = re.compile(r"\s*\((#\d+|[A-Z]+-\d+)\)\s*$|^\s*\[[^\]]*\]\s*")
# Verbs that end like a participle but are imperative ("Embed the font", "Bring back ...").
_IMPERATIVE_EXCEPTIONS = frozenset({"embed", "feed", "seed", "shed", "speed", "proceed", "exceed", "need",
                                    "bring", "string", "ping", "swing", "ring", "succeed", "heed", "weed"})
_DOC_GLOBS = ("*.md", "*.rst", "*.txt", "*.adoc", "docs/*", "doc/*", "*/docs/*", "LICENSE*", "AUTHORS*",
              "CHANGELOG*", "CHANGES*", "NEWS*", "*.png", "*.svg")
_CI_GLOBS = (".github/*", ".gitlab-ci.yml", ".circleci/*", ".travis.yml", "azure-pipelines.yml", "appveyor.yml",
             "Jenkinsfile", ".pre-commit-config.yaml", "tox.ini", "noxfile.py", ".gitlab/*", "codecov.yml")
_VERSION_FILES = ("VERSION", "*/__version__.py", "__version__.py", "*/_version.py", "version.txt")


@dataclass(frozen=True)
class ChangedFile:
    """One file a commit touched, with its `git --numstat` line counts."""

    path: str
    added: int
    deleted: int
    binary: bool = False  # numstat prints "-" for both counts


@dataclass(frozen=True)
class CommitFacts:
    """What the filter may look at: the commit's metadata, no file contents."""

    sha: str
    message: str
    author_name: str
    author_email: str
    parents: int
    files: tuple[ChangedFile, ...]

    @property
    def changed_lines(self) -> int:
        """Added plus deleted lines over every file."""
        return sum(changed.added + changed.deleted for changed in self.files)


def clean_message(message: str) -> str:
    """The commit message as a task statement: subject and body, without trailers or prefixes."""
    lines = [line.rstrip() for line in message.strip().splitlines()]
    kept = [line for line in lines if not re.match(r"^[A-Za-z-]+-by:|^Signed-off-by:|^Change-Id:", line)]
    subject, body = (kept or [""])[0], "\n".join(kept[1:]).strip()
    subject = _ISSUE_REFERENCE.sub("", _CONVENTIONAL_PREFIX.sub("", subject)).strip().rstrip(".")
    subject = subject[:1].upper() + subject[1:]
    return f"{subject}.\n\n{body}".strip() if body else f"{subject}."


def message_reason(message: str) -> str | None:
    """Why a message cannot be a task statement (`short_message`, `vague_message`, ...), or None."""
    subject = clean_message(message).splitlines()[0].rstrip(".")
    words = re.findall(r"[A-Za-z0-9_.'-]+", subject)
    if _VERSION_BUMP.search(subject):
        return "version_bump"
    if words and words[0].lower() in _VAGUE_WORDS and len(words) <= MIN_MESSAGE_WORDS:
        return "vague_message"
    raw_first = (message.strip().split() or [""])[0].lower().rstrip(":!")
    if raw_first in {"wip", "fixup", "squash", "misc", "tmp"}:  # also as a "WIP:" prefix
        return "vague_message"
    if len(words) < MIN_MESSAGE_WORDS:
        return "short_message"
    first = words[0].lower()
    if first not in _IMPERATIVE_EXCEPTIONS and (first.endswith("ed") or first.endswith("ing")):
        return "not_imperative"
    return None


def is_bot(name: str, email: str) -> bool:
    """True for automated authors: dependabot, renovate, github-actions, anything `[bot]`."""
    who = f"{name} {email}".lower()
    return any(marker in who for marker in _BOT_MARKERS)


def _matches(path: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in globs)


def files_reason(files: tuple[ChangedFile, ...], language: Language) -> str | None:
    """Why the changed files rule a commit out (size, binaries, docs/CI only, wrong language), or None."""
    if not files:
        return "no_files"
    if len(files) > MAX_FILES:
        return "too_many_files"
    if sum(changed.added + changed.deleted for changed in files) >= MAX_CHANGED_LINES:
        return "too_many_lines"
    if any(changed.binary for changed in files):
        return "binary_file"
    paths = [changed.path for changed in files]
    if all(_matches(path, _DOC_GLOBS) for path in paths):
        return "docs_only"
    if all(_matches(path, _CI_GLOBS) for path in paths):
        return "ci_only"
    if all(_matches(path, _VERSION_FILES) for path in paths):
        return "version_bump"
    if not any(path.endswith(language.extensions) for path in paths):
        return "language_mismatch"
    return None


def drop_reason(facts: CommitFacts, language: Language) -> str | None:
    """The first metadata reason (a key of `DROP_REASONS`) that rules `facts` out, or None to keep it."""
    if facts.parents == 0:
        return "root_commit"
    if facts.parents > 1:
        return "merge"
    if is_bot(facts.author_name, facts.author_email):
        return "bot_author"
    return files_reason(facts.files, language) or message_reason(facts.message)


def split_test_and_code(language: Language, paths: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(test-surface paths, the rest): the tests join the buggy tree, the rest is the fix."""
    tests = tuple(path for path in paths if on_test_surface(language, path))
    return tests, tuple(path for path in paths if path not in tests)
