"""The test surface: the files that judge a patch, which the patch may neither touch nor outlive.

Three defences, in order: a patch naming a test-surface path is refused; protected tables of
config files (pyproject's tool.pytest, Cargo's test targets, package.json scripts) must be
unchanged after applying; and before tests run every surface file is restored from the pinned
snapshot (a build script may have rewritten one) and every surface file the snapshot lacks
(a new conftest.py) is deleted.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import tomllib
from pathlib import Path

from apprentice.languages.language import Language

# Whatever the language, the git data and the grader's private files are never the patch's to touch.
_ALWAYS_PROTECTED = (".git", ".git/*", "*/.git/*")


def on_test_surface(language: Language, path: str) -> bool:
    """True when `path` (repository-relative) is a test, a test config, or an interpreter hook."""
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in (*language.test_surface, *_ALWAYS_PROTECTED))


def surface_flags(language: Language, files: tuple[str, ...]) -> tuple[str, ...]:
    """One tamper flag per patched path on the test surface."""
    return tuple(
        f"patch touches the test surface: {path}" for path in files if on_test_surface(language, path)
    )


def _load_structured(path: Path) -> dict:
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError):
        # Unreadable after the patch: its protected tables can no longer be trusted.
        return {"<unreadable>": text}


def _table(record: dict, dotted: str) -> object:
    for key in dotted.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def structured_flags(
    language: Language, snapshot: Path, workspace: Path, files: tuple[str, ...]
) -> tuple[str, ...]:
    """Tamper flags for protected tables (e.g. `tool.pytest`) a patched config file changed."""
    flags = []
    for pattern, tables in language.structured_surface:
        for path in (path for path in files if fnmatch.fnmatchcase(path, pattern)):
            before, after = _load_structured(snapshot / path), _load_structured(workspace / path)
            for table in tables:
                if _table(before, table) != _table(after, table) or "<unreadable>" in after:
                    flags.append(f"patch changes protected table '{table}' in {path}")
    return tuple(flags)


def code_flags(language: Language, added: dict[str, list[str]]) -> tuple[str, ...]:
    """Tamper flags for hacks in the added code itself (reaching into the runner, git history...)."""
    flags = []
    for path, lines in added.items():
        text = "\n".join(lines)
        for pattern, reason in language.tamper_patterns:
            if re.search(pattern, text):
                flags.append(f"{reason} ({path})")
    return tuple(flags)


_NEVER_SURFACE = {".sandbox", "__pycache__", "node_modules"}  # sandbox home/caches, bytecode, packages


def _surface_files(language: Language, root: Path) -> set[str]:
    skipped = _NEVER_SURFACE | set(language.build_outputs)
    found = set()
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if skipped.intersection(relative.parts) or relative.parts[0].startswith(".apprentice-report-"):
            continue
        if (path.is_file() or path.is_symlink()) and on_test_surface(language, relative.as_posix()):
            found.add(relative.as_posix())
    return found


def restore_surface(language: Language, snapshot: Path, workspace: Path) -> tuple[str, ...]:
    """Make every test-surface file in `workspace` byte-equal to `snapshot`; return what differed."""
    drifted = []
    in_snapshot = _surface_files(language, snapshot)
    for relative in sorted(_surface_files(language, workspace) - in_snapshot):
        (workspace / relative).unlink()
        drifted.append(relative)
    for relative in sorted(in_snapshot):
        source, target = snapshot / relative, workspace / relative
        if target.is_symlink() or not target.is_file() or target.read_bytes() != source.read_bytes():
            target.unlink(missing_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            drifted.append(relative)
    return tuple(drifted)
