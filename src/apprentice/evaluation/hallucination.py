"""Hallucinated APIs: calls and imports a patch adds that resolve nowhere (SPEC §7).

    check = check_patch(patch, repo_dir, "python")   # ApiCheck(calls=(...), hallucinated=(...))

The patch is applied in memory to the task's snapshot (it was made against exactly that tree),
then only the calls and imports on *added* lines are looked at.

Python (exact where it can be): a call ``f(...)`` resolves when ``f`` is a builtin or a name
bound anywhere in the patched file or defined anywhere in the repository; ``mod.attr(...)`` on an
imported standard-library module is checked by importing the module and looking the attribute
up; on a repository module, ``attr`` must be defined in the repository; ``self.m(...)`` needs a
``m`` defined or assigned in the repository. An added import must be the standard library, a
repository module, or a package the repository already imports (a declared dependency). Calls
on other objects (``x.append()``) cannot be resolved without types: counted, never flagged.

Rust, TypeScript, Go (a heuristic, with tree-sitter): a free call ``f(...)`` (and a Rust macro
``m!``, a TypeScript ``new C``) is hallucinated when ``f`` is not in the language's small builtin
list and is *mentioned nowhere*: neither in the repository's source nor in the patch outside call
positions (a helper the patch defines is mentioned by its definition). A path call ``A::f()`` or
``pkg.F()`` is judged by its first segment the same way; method calls are counted only. An added
``use`` / ``import`` must name the standard library, the crate / module itself, or a dependency
declared in Cargo.toml / go.mod / package.json (a relative TypeScript import must exist).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from apprentice.errors import EvaluationError


@dataclass(frozen=True)
class ApiCheck:
    """The calls/imports a patch adds (as written) and those among them that resolve nowhere."""

    calls: tuple[str, ...]
    hallucinated: tuple[str, ...]


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")
_EXTENSIONS = {"python": (".py",), "rust": (".rs",), "go": (".go",), "typescript": (".ts", ".tsx", ".mts", ".cts")}
# Standard-library modules whose import has side effects (a browser, a window, a printed poem).
_UNSAFE_TO_IMPORT = frozenset({"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo"})


def check_patch(patch: str, repo_dir: Path, language: str) -> ApiCheck:
    """The calls/imports `patch` adds to the snapshot at `repo_dir`, and the hallucinated ones."""
    if language not in _EXTENSIONS:
        raise EvaluationError(f"no API check for language '{language}' (known: {', '.join(_EXTENSIONS)})")
    files = {path: value for path, value in patched_files(patch, repo_dir).items()
             if path.endswith(_EXTENSIONS[language])}
    if not files:
        return ApiCheck((), ())
    if language == "python":
        found = _python_calls(files, repo_dir)
    else:
        found = tree_sitter_calls(TreeSitterIndex(language, repo_dir, _EXTENSIONS[language]), files)
    calls = tuple(dict.fromkeys(name for name, _ in found))
    return ApiCheck(calls, tuple(dict.fromkeys(name for name, bad in found if bad)))


def patched_files(patch: str, repo_dir: Path) -> dict[str, tuple[str, set[int]]]:
    """``{path: (patched text, 1-based numbers of the added lines)}`` for each file the patch keeps."""
    result: dict[str, tuple[str, set[int]]] = {}
    for path, hunks in _file_hunks(patch).items():
        original = repo_dir / path
        old = original.read_text(encoding="utf-8", errors="replace").splitlines() if original.is_file() else []
        result[path] = _apply_hunks(old, hunks)
    return result


def _file_hunks(patch: str) -> dict[str, list[tuple[int, list[str]]]]:
    files: dict[str, list[tuple[int, list[str]]]] = {}
    current: list | None = None
    for line in patch.splitlines():
        if line.startswith("+++ "):
            target = line[4:].strip()
            current = None if target == "/dev/null" else files.setdefault(target.removeprefix("b/"), [])
        elif line.startswith("--- ") or line.startswith("diff --git"):
            continue
        elif (match := _HUNK.match(line)) and current is not None:
            current.append((int(match[1]), []))
        elif current and line[:1] in (" ", "+", "-", "\\"):
            current[-1][1].append(line)
    return files


def _apply_hunks(old: list[str], hunks: list[tuple[int, list[str]]]) -> tuple[str, set[int]]:
    new: list[str] = []
    added: set[int] = set()
    cursor = 0  # index into `old` of the next line not yet copied
    for start, lines in hunks:
        # A hunk of a new file starts at line 0; git numbers lines from 1 otherwise.
        new.extend(old[cursor:max(start - 1, 0)])
        cursor = max(start - 1, 0)
        for line in lines:
            if line.startswith("+"):
                new.append(line[1:])
                added.add(len(new))
            elif line.startswith(" "):
                new.append(line[1:])
                cursor += 1
            elif line.startswith("-"):
                cursor += 1
    new.extend(old[cursor:])
    return "\n".join(new) + "\n", added


# --- python -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PythonIndex:
    defined: frozenset[str]  # functions, classes, assigned names and attributes anywhere in the repo
    modules: frozenset[str]  # importable module names of the repo (top-level and dotted)
    dependencies: frozenset[str]  # top-level packages the repo's own code imports


def _python_calls(files: dict[str, tuple[str, set[int]]], repo_dir: Path) -> list[tuple[str, bool]]:
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


# --- rust, typescript, go: the tree-sitter heuristic ---------------------------------------------

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_IDENTIFIERS = frozenset({"identifier", "type_identifier", "field_identifier", "property_identifier",
                          "package_identifier", "shorthand_property_identifier", "shorthand_property_identifier_pattern"})
# (node type, field holding the callee) of what counts as a call in each grammar.
_CALLS = {
    "rust": (("call_expression", "function"), ("macro_invocation", "macro")),
    "go": (("call_expression", "function"),),
    "typescript": (("call_expression", "function"), ("new_expression", "constructor")),
}
_IMPORTS = {"rust": "use_declaration", "go": "import_spec", "typescript": "import_statement"}
_BUILTINS = {
    "rust": _words("""Some None Ok Err Box Vec String Option Result Self std core alloc drop Default From Into
        ToString Iterator IntoIterator Clone println print eprintln eprint format vec panic assert assert_eq
        assert_ne debug_assert debug_assert_eq debug_assert_ne write writeln todo unimplemented unreachable
        matches dbg concat stringify include_str include_bytes env cfg line file column format_args"""),
    "go": _words("""append cap clear close complex copy delete imag len make max min new panic print println
        real recover bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64 rune
        string uint uint8 uint16 uint32 uint64 uintptr any"""),
    "typescript": _words("""console Math JSON Object Array Number String Boolean Promise Date Error TypeError
        RangeError SyntaxError RegExp Map Set WeakMap WeakSet Symbol BigInt Reflect Proxy Intl parseInt
        parseFloat isNaN isFinite setTimeout clearTimeout setInterval clearInterval queueMicrotask
        structuredClone encodeURIComponent decodeURIComponent encodeURI decodeURI require fetch process
        Buffer globalThis"""),
}
_RUST_ROOTS = frozenset({"std", "core", "alloc", "crate", "self", "super"})
_NODE_BUILTINS = _words("""assert buffer child_process crypto events fs http https net os path process
    readline stream string_decoder timers url util worker_threads zlib test""")


class TreeSitterIndex:
    """What a repository mentions (every identifier in its source) and declares as dependencies."""

    def __init__(self, language: str, repo_dir: Path, extensions: tuple[str, ...]):
        from apprentice.tasks.mutation.engine import parser_for

        self.language, self.repo_dir, self.parser = language, repo_dir, parser_for(language)
        self.mentioned: set[str] = set()
        for file in repo_dir.rglob("*"):
            skipped = {"node_modules", "target", ".git", "dist", "vendor"} & set(file.relative_to(repo_dir).parts)
            if file.suffix in extensions and file.is_file() and not skipped:
                source = file.read_text(encoding="utf-8", errors="replace")
                self.mentioned.update(_leaf_texts(self.parser.parse(source.encode()).root_node))
        self.manifest = _manifest_text(language, repo_dir)
        self.crates = _cargo_names(self.manifest) if language == "rust" else frozenset()

    def knows(self, name: str) -> bool:
        """A name the builtins list or the repository's source holds."""
        return name in _BUILTINS[self.language] or name in self.mentioned


def tree_sitter_calls(index: TreeSitterIndex, files: dict[str, tuple[str, set[int]]]) -> list[tuple[str, bool]]:
    """(callee or import as written, hallucinated?) for each call and import on the added lines of `files`."""
    found, callee_roots, mentioned = [], [], set()
    for path, (text, added) in files.items():
        root = index.parser.parse(text.encode()).root_node
        roots = []
        for node in _walk(root):
            if node.start_point.row + 1 not in added:
                continue
            if node.type == _IMPORTS[index.language]:
                found.append((" ".join(node.text.decode().split()), not _import_resolves(index, path, node)))
            roots += _callee_roots(index.language, node)
        # Identifiers of the patch outside added callee positions are mentions (its own definitions).
        positions = {leaf.start_byte for _, leaf in roots}
        mentioned |= {leaf.text.decode() for leaf in _walk(root) if leaf.type in _IDENTIFIERS and leaf.start_byte not in positions}
        mentioned |= _go_package_names(root) if index.language == "go" else set()
        callee_roots += roots
    return found + [(name, not (index.knows(leaf.text.decode()) or leaf.text.decode() in mentioned))
                    for name, leaf in callee_roots]


def _callee_roots(language: str, node) -> list[tuple[str, object]]:
    """(callee as written, its leftmost identifier) when `node` is a call whose callee starts with a name."""
    for call_type, field in _CALLS[language]:
        callee = node.child_by_field_name(field) if node.type == call_type else None
        leaf = _leftmost_leaf(callee) if callee is not None else None
        if leaf is not None and leaf.type in _IDENTIFIERS:
            return [(" ".join(callee.text.decode().split())[:80], leaf)]
    return []


def _import_resolves(index: TreeSitterIndex, path: str, node) -> bool:
    if index.language == "rust":
        first = node.text.decode().removeprefix("pub ").removeprefix("use").strip().lstrip(":").split("::")[0]
        first = first.strip("{ ;")
        return first in _RUST_ROOTS or first.replace("-", "_") in index.crates
    source = _string_value(node.child_by_field_name("path" if index.language == "go" else "source"))
    if index.language == "go":
        module = re.search(r"^module\s+(\S+)", index.manifest, re.MULTILINE)
        return "." not in source.split("/")[0] or bool(module and source.startswith(module[1])) or source in index.manifest
    if source.startswith("."):
        base = (index.repo_dir / path).parent / source
        candidates = [Path(f"{base}{suffix}") for suffix in ("", ".ts", ".tsx", ".js", ".mjs", "/index.ts")]
        # An ESM import names the compiled `.js` of a `.ts` source.
        return any(candidate.is_file() for candidate in candidates) or base.with_suffix(".ts").is_file()
    package = "/".join(source.split("/")[:2]) if source.startswith("@") else source.split("/")[0]
    return package.removeprefix("node:") in _NODE_BUILTINS or f'"{package}"' in index.manifest


def _manifest_text(language: str, repo_dir: Path) -> str:
    name = {"rust": "Cargo.toml", "go": "go.mod", "typescript": "package.json"}[language]
    manifest = repo_dir / name
    return manifest.read_text(encoding="utf-8", errors="replace") if manifest.is_file() else ""


def _cargo_names(manifest: str) -> frozenset[str]:
    """The crate's own name and its declared dependencies (`name = ...` keys), `-` read as `_`."""
    keys = re.findall(r"^\s*([A-Za-z0-9_-]+)\s*=", manifest, re.MULTILINE)
    keys += re.findall(r"^\[(?:dev-|build-)?dependencies\.([A-Za-z0-9_-]+)\]", manifest, re.MULTILINE)
    package = re.search(r'^name\s*=\s*"([^"]+)"', manifest, re.MULTILINE)
    return frozenset(key.replace("-", "_") for key in [*keys, *([package[1]] if package else [])])


def _go_package_names(root) -> set[str]:
    """The names Go code calls imported packages by: the alias, else the last path element."""
    names = set()
    for node in _walk(root):
        if node.type == "import_spec":
            alias = node.child_by_field_name("name")
            source = _string_value(node.child_by_field_name("path"))
            names.add(alias.text.decode() if alias is not None else source.rstrip("/").split("/")[-1])
    return names


def _string_value(node) -> str:
    return node.text.decode().strip("\"'`") if node is not None else ""


def _leftmost_leaf(node):
    while node.child_count:
        node = node.children[0]
    return node


def _leaf_texts(root) -> set[str]:
    return {node.text.decode() for node in _walk(root) if node.type in _IDENTIFIERS}


def _walk(root):
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))
