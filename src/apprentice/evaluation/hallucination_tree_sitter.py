"""Hallucinated APIs in Rust, TypeScript and Go, a tree-sitter heuristic (`hallucination.check_patch`).

A free call ``f(...)`` (and a Rust macro
``m!``, a TypeScript ``new C``) is hallucinated when ``f`` is not in the language's small builtin
list and is *mentioned nowhere*: neither in the repository's source nor in the patch outside call
positions (a helper the patch defines is mentioned by its definition). A path call ``A::f()`` or
``pkg.F()`` is judged by its first segment the same way; method calls are counted only. An added
``use`` / ``import`` must name the standard library, the crate / module itself, or a dependency
declared in Cargo.toml / go.mod / package.json (a relative TypeScript import must exist).
"""

from __future__ import annotations

import re
from pathlib import Path


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
