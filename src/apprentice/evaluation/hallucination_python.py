"""Hallucinated APIs in Python, exact where it can be (`hallucination.check_patch` calls it).

A call ``f(...)`` resolves when ``f`` is a builtin or a name
bound anywhere in the patched file or defined anywhere in the repository; ``mod.attr(...)`` on an
imported standard-library module is checked by importing the module and looking the attribute
up; on a repository module, ``attr`` must be defined in the repository; ``self.m(...)`` needs a
``m`` defined or assigned in the repository. An added import must be the standard library, a
repository module, or a package the repository already imports (a declared dependency). Calls
on other objects (``x.append()``) cannot be resolved without types: counted, never flagged.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

# Standard-library modules whose import has side effects (a browser, a window, a printed poem).
_UNSAFE_TO_IMPORT = frozenset({"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo"})


@dataclass(frozen=True)
class _PythonIndex:
    defined: frozenset[str]  # functions, classes, assigned names and attributes anywhere in the repo
    modules: frozenset[str]  # importable module names of the repo (top-level and dotted)
    dependencies: frozenset[str]  # top-level packages the repo's own code imports


def python_calls(files: dict[str, tuple[str, set[int]]], repo_dir: Path) -> list[tuple[str, bool]]:
    """(call or import as written, hallucinated?) for each call and import on the added lines of `files`."""
    index = _python_index(repo_dir, [text for text, _ in files.values()])
    found = []
    for path, (text, added) in files.items():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue  # the build check reports it; there is nothing to resolve
        aliases, bound = _bindings(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) not in added:
                continue
            if isinstance(node, ast.Call):
                found.extend(_python_call(node, aliases, bound, index))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                found.extend(_python_import(node, index, path))
    return found


def _python_index(repo_dir: Path, patched: list[str]) -> _PythonIndex:
    defined, modules, dependencies = set(), set(), set()
    sources = []
    for file in repo_dir.rglob("*.py"):
        relative = file.relative_to(repo_dir)
        parts = relative.with_suffix("").parts
        for root in (parts, parts[1:] if parts[0] == "src" else ()):
            names = [name for name in root if name != "__init__"]
            modules.update(".".join(names[i:j]) for i in range(len(names)) for j in range(i + 1, len(names) + 1))
        try:
            tree = ast.parse(file.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        sources.append(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                dependencies.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                dependencies.add(node.module.split(".")[0])
    for text in patched:
        try:
            sources.append(ast.parse(text))
        except SyntaxError:
            continue
    for tree in sources:
        defined.update(_bindings(tree)[1])
    return _PythonIndex(frozenset(defined), frozenset(modules), frozenset(dependencies))


def _bindings(tree: ast.AST) -> tuple[dict[str, str], set[str]]:
    """(import aliases: local name -> dotted origin, every other name the tree binds or defines)."""
    aliases: dict[str, str] = {}
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            bound.add(node.attr)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                aliases[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{'.' * node.level}{node.module or ''}.{alias.name}"
    return aliases, bound


def _python_call(node: ast.Call, aliases: dict[str, str], bound: set[str], index: _PythonIndex) -> list[tuple[str, bool]]:
    chain = _dotted(node.func)
    if chain is None:
        return []
    name = ".".join(chain)
    if len(chain) == 1:
        known = chain[0] in vars(builtins) or chain[0] in bound or chain[0] in aliases or chain[0] in index.defined
        return [(name, not known)]
    root = chain[0]
    if root in ("self", "cls"):
        return [(name, chain[-1] not in index.defined)]
    if root in aliases and not aliases[root].startswith("."):
        return [(name, not _resolves(aliases[root], chain[1:], index))]
    return [(name, False)]  # an attribute of a value: no types to resolve it with


def _python_import(node: ast.Import | ast.ImportFrom, index: _PythonIndex, path: str) -> list[tuple[str, bool]]:
    if isinstance(node, ast.Import):
        return [(f"import {alias.name}", not _resolves(alias.name, [], index)) for alias in node.names]
    if node.level:  # relative: the repository's own modules
        return [(f"from {'.' * node.level}{node.module or ''} import {alias.name}",
                 alias.name not in index.defined and alias.name not in index.modules) for alias in node.names]
    return [(f"from {node.module} import {alias.name}", not _resolves(node.module or "", [alias.name], index))
            for alias in node.names if alias.name != "*"]


def _resolves(module: str, attributes: list[str], index: _PythonIndex) -> bool:
    parts = [*module.split("."), *attributes]
    if parts[0] in sys.stdlib_module_names:
        return _stdlib_has(parts)
    if parts[0] in index.modules:
        return ".".join(parts) in index.modules or parts[-1] in index.defined
    return parts[0] in index.dependencies


def _stdlib_has(parts: list[str]) -> bool:
    """Whether `a.b.c` exists: import what is a module, look up what is an attribute."""
    if parts[0] in _UNSAFE_TO_IMPORT:
        return True
    try:
        value = importlib.import_module(parts[0])
        for position in range(1, len(parts)):
            if hasattr(value, parts[position]):
                value = getattr(value, parts[position])
            else:
                value = importlib.import_module(".".join(parts[:position + 1]))
    except ImportError:
        return False
    return True


def _dotted(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else [*head, node.attr]
    return None
