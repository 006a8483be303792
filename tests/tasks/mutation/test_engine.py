"""The mutation engine on small snippets of each language: specific mutants, valid diffs, limits."""

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest

from apprentice.errors import MutationError, UnknownNameError
from apprentice.tasks.mutation.engine import (
    Mutant,
    MutationStats,
    changed_lines,
    dedupe,
    difficulty_tier,
    mutants_for_repo,
    mutants_for_source,
    parser_for,
    rules_for,
)
from apprentice.tasks.mutation.operators import function_units

PYTHON = '''\
LIMIT = 1 + 2


class Window:
    size = 3 * 4

    def fits(self, a, b):
        """Whether a fits before b."""
        if a < b and self.size:
            return True
        return a + 1 == b


def clamp(x, low):
    if x <= low:
        x = low
    return max(x, low)
'''

RUST = '''\
pub fn both(a: bool, b: bool) -> bool {
    let n = 1;
    a && b
}

impl Counter {
    fn bump(&mut self, by: i32) -> i32 {
        self.total += by;
        self.total
    }
}

#[cfg(test)]
mod tests {
    fn helper() -> bool { 1 + 1 == 2 }
}
'''

GO = '''\
package calc

import "fmt"

func Next(x int) int {
	return x + 1
}

func Show(v int) {
	label := fmt.Sprint(v)
	println(label)
}
'''

TYPESCRIPT = '''\
export function same(a: number, b: number): boolean {
  const strict = true;
  if (strict && a === b) {
    return true;
  }
  return false;
}

const double = (n: number): number => n * 2;
'''

SNIPPETS = {"python": PYTHON, "rust": RUST, "go": GO, "typescript": TYPESCRIPT}
EXTENSIONS = {"python": "py", "rust": "rs", "go": "go", "typescript": "ts"}


def _mutants(language: str, source: str | None = None, stats: MutationStats | None = None) -> list[Mutant]:
    return mutants_for_source(source or SNIPPETS[language], f"src/snippet.{EXTENSIONS[language]}", language, stats)


def _find(mutants: list[Mutant], operator: str, original: str, replacement: str) -> Mutant:
    found = [m for m in mutants if (m.operator, m.original, m.replacement) == (operator, original, replacement)]
    assert found, f"no {operator} mutant {original!r} -> {replacement!r} among {len(mutants)}"
    return found[0]


def _mutated(source: str, mutant: Mutant) -> str:
    """The mutated source recomputed from the mutant's location, independently of its diff."""
    lines = source.split("\n")
    offset = sum(len(line) + 1 for line in lines[: mutant.line - 1]) + mutant.column - 1
    assert source[offset:offset + len(mutant.original)] == mutant.original
    return source[:offset] + mutant.replacement + source[offset + len(mutant.original):]


def test_python_operators_yield_the_expected_mutants():
    mutants = _mutants("python")
    assert _find(mutants, "boundary", "<", "<=").function == "Window.fits"
    _find(mutants, "compare_swap", "<", ">")
    _find(mutants, "logic_flip", "and", "or")
    _find(mutants, "bool_flip", "True", "False")
    _find(mutants, "arith_swap", "+", "-")
    _find(mutants, "compare_swap", "==", "!=")
    _find(mutants, "negate_condition", "a < b and self.size", "not (a < b and self.size)")
    _find(mutants, "return_value", "a + 1 == b", "None")
    _find(mutants, "swap_args", "x, low", "low, x")
    _find(mutants, "constant", "1", "0")
    # The only statement of a block becomes `pass`, or the block would not parse.
    assert _find(mutants, "statement_delete", "x = low", "pass").function == "clamp"


def test_python_docstrings_and_module_level_code_are_never_mutated():
    mutants = _mutants("python")
    assert not [m for m in mutants if "Whether" in m.original]
    assert {m.line for m in mutants}.isdisjoint({1, 5})  # `LIMIT = 1 + 2` and the class attribute


def test_rust_operators_and_test_modules():
    mutants = _mutants("rust")
    assert _find(mutants, "logic_flip", "&&", "||").function == "both"
    _find(mutants, "return_value", "a && b", "false")  # the tail expression is the return value
    assert _find(mutants, "arith_swap", "+=", "-=").function == "Counter::bump"
    _find(mutants, "return_value", "self.total", "0")
    assert not [m for m in mutants if m.line >= 13], "code under #[cfg(test)] was mutated"
    assert not [m for m in mutants if m.operator == "statement_delete" and "let" in m.original]


def test_go_operators_and_unused_names():
    stats = MutationStats()
    mutants = _mutants("go", stats=stats)
    assert _find(mutants, "arith_swap", "+", "-").function == "Next"
    _find(mutants, "return_value", "x + 1", "0")
    # Deleting `println(label)` leaves `label` unused: go would refuse to compile it.
    assert not [m for m in mutants if m.operator == "statement_delete" and "println" in m.original]
    assert stats.dropped_unused_name["statement_delete"] == 1


def test_go_deleting_the_last_use_of_an_import_is_dropped():
    source = 'package p\n\nimport "fmt"\n\nfunc Log(v int) {\n\tfmt.Println(v)\n\tv++\n}\n'
    stats = MutationStats()
    mutants = _mutants("go", source, stats)
    assert not [m for m in mutants if m.operator == "statement_delete" and "fmt" in m.original]
    _find(mutants, "statement_delete", "\tv++\n", "")
    assert stats.dropped_unused_name["statement_delete"] == 1


def test_typescript_operators():
    mutants = _mutants("typescript")
    assert _find(mutants, "compare_swap", "===", "!==").function == "same"
    # The condition is negated inside the parentheses an `if` needs.
    _find(mutants, "negate_condition", "strict && a === b", "!(strict && a === b)")
    _find(mutants, "bool_flip", "true", "false")
    assert _find(mutants, "arith_swap", "*", "/").function == "double"
    # `return false;` ends a function typed `boolean`: without it tsc rejects the file.
    assert not [m for m in mutants if m.operator == "statement_delete" and m.original.strip() == "return false;"]


@pytest.mark.parametrize("language", list(SNIPPETS))
def test_every_diff_applies_with_patch_and_reverses(language, tmp_path):
    source = SNIPPETS[language]
    mutants = _mutants(language)
    assert mutants
    target = tmp_path / "src" / f"snippet.{EXTENSIONS[language]}"
    target.parent.mkdir()
    for mutant in mutants:
        mutated = _mutated(source, mutant)
        assert not parser_for(language).parse(mutated.encode()).root_node.has_error
        target.write_text(source)
        subprocess.run(["patch", "-p1", "--quiet"], input=mutant.diff, text=True, cwd=tmp_path, check=True)
        assert target.read_text() == mutated, mutant
        subprocess.run(["patch", "-p1", "--quiet"], input=mutant.fix, text=True, cwd=tmp_path, check=True)
        assert target.read_text() == source


def test_diffs_apply_with_git_apply_even_without_a_final_newline(tmp_path):
    source = "def f(a):\n    x = [a]\n\x0c\n    return a < 1"  # a form feed line and no final newline
    mutants = _mutants("python", source)
    assert {m.operator for m in mutants} >= {"boundary", "constant", "return_value", "statement_delete"}
    target = tmp_path / "src" / "snippet.py"
    target.parent.mkdir()
    for mutant in mutants:
        target.write_text(source)
        subprocess.run(["git", "apply", "-"], input=mutant.diff, text=True, cwd=tmp_path, check=True)
        assert target.read_text() == _mutated(source, mutant)
        subprocess.run(["git", "apply", "-R", "-"], input=mutant.diff, text=True, cwd=tmp_path, check=True)
        assert target.read_text() == source


@pytest.mark.parametrize("language", list(SNIPPETS))
def test_no_mutant_leaves_its_function(language):
    source = SNIPPETS[language]
    root = parser_for(language).parse(source.encode()).root_node
    spans = {name: (node.start_point.row + 1, node.end_point.row + 1)
             for node, name in function_units(root, rules_for(language))}
    for mutant in _mutants(language):
        first, last = spans[mutant.function]
        assert first <= mutant.line and mutant.line + mutant.original.count("\n") - 1 <= last, mutant
        assert changed_lines(mutant.diff) >= 1


def test_mutants_are_unique_and_json_serialisable():
    mutants = _mutants("python")
    assert len({(m.source_sha256, m.diff) for m in mutants}) == len(mutants)
    for mutant in mutants:
        assert Mutant(**json.loads(json.dumps(asdict(mutant)))) == mutant


def test_dedupe_keeps_the_first_of_each_pair():
    first, second = _mutants("python")[:2]
    assert dedupe([first, second, first, second, first]) == [first, second]


def test_identical_and_unparseable_mutants_are_dropped_and_counted():
    stats = MutationStats()
    _mutants("python", "def f(a):\n    x = 1; y = a\n    return x + y\n", stats)
    # Deleting `x = 1` alone leaves `; y = a`, which does not parse.
    assert stats.dropped_unparseable["statement_delete"] == 1
    assert sum(stats.kept.values()) > 0


def _write_repo(root: Path) -> None:
    body = "\n".join(f"    v{i} = a + {i} if a < {i} else b - {i}" for i in range(6))
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "core.py").write_text(f"def busy(a, b):\n{body}\n    return a\n\n\ndef small(a):\n    return a > 0\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_core.py").write_text("def test_it():\n    assert 1 + 1 == 2\n")
    (root / "pkg" / "test_inline.py").write_text("def test_x():\n    assert 2 > 1\n")
    (root / "pkg" / "broken.py").write_text("def f(:\n    return 1\n")
    (root / "pkg" / "latin.py").write_bytes("def f():\n    return 'é' + 1\n".encode("latin-1"))


def test_repo_skips_tests_and_counts_bad_files(tmp_path):
    _write_repo(tmp_path)
    stats = MutationStats()
    mutants = list(mutants_for_repo(tmp_path, "python", max_per_function=1000, stats=stats))
    assert {m.path for m in mutants} == {"pkg/core.py"}
    assert {path for path, _ in stats.skipped_files} == {"pkg/broken.py", "pkg/latin.py"}


def test_cap_per_function_spreads_across_operators(tmp_path):
    _write_repo(tmp_path)
    stats = MutationStats()
    capped = list(mutants_for_repo(tmp_path, "python", max_per_function=6, stats=stats))
    busy = [m for m in capped if m.function == "busy"]
    assert len(busy) == 6 and len({m.operator for m in busy}) == 6
    assert stats.dropped_by_cap == len(list(mutants_for_repo(tmp_path, "python", max_per_function=1000))) - len(capped)
    assert busy == sorted(busy, key=lambda m: (m.line, m.column))


def test_same_seed_same_mutants_other_seed_other_sample(tmp_path):
    _write_repo(tmp_path)
    runs = [list(mutants_for_repo(tmp_path, "python", max_per_function=5, seed=seed)) for seed in (7, 7, 8)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_unknown_language_and_bad_cap_are_errors(tmp_path):
    with pytest.raises(UnknownNameError, match="'rustt'.*python, rust, typescript, go"):
        mutants_for_source("fn f() {}", "a.rs", "rustt")
    with pytest.raises(MutationError, match="max_per_function=0"):
        mutants_for_repo(tmp_path, "python", max_per_function=0)
    with pytest.raises(MutationError, match="outside the repository"):
        mutants_for_repo(tmp_path / "repo", "python", files=[tmp_path / "elsewhere.py"])


def test_test_files_of_each_language_are_skipped(tmp_path):
    files = {"lib.go": "package p\n\nfunc F(a int) int { return a + 1 }\n",
             "lib_test.go": "package p\n\nfunc G(a int) int { return a + 1 }\n",
             "web/a.ts": "export function f(a: number) { return a + 1; }\n",
             "web/a.test.ts": "export function g(a: number) { return a + 1; }\n",
             "crate/src/lib.rs": "fn f(a: i32) -> i32 { a + 1 }\n",
             "crate/tests/it.rs": "fn g(a: i32) -> i32 { a + 1 }\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    for language, expected in (("go", {"lib.go"}), ("typescript", {"web/a.ts"}), ("rust", {"crate/src/lib.rs"})):
        assert {m.path for m in mutants_for_repo(tmp_path, language)} == expected


def test_difficulty_tiers():
    assert difficulty_tier(diff_lines=2, failing_tests=5, files=1) == "easy"
    assert difficulty_tier(diff_lines=2, failing_tests=1, files=1) == "medium"  # a quiet bug
    assert difficulty_tier(diff_lines=6, failing_tests=3, files=1) == "medium"
    assert difficulty_tier(diff_lines=2, failing_tests=3, files=2) == "medium"
    assert difficulty_tier(diff_lines=6, failing_tests=1, files=1) == "hard"
    assert difficulty_tier(diff_lines=40, failing_tests=9, files=1) == "hard"
    assert difficulty_tier(diff_lines=4, failing_tests=9, files=4) == "hard"
    with pytest.raises(MutationError, match="failing_tests=0"):
        difficulty_tier(diff_lines=2, failing_tests=0, files=1)


def test_changed_lines_counts_only_hunk_bodies():
    diff = "--- a/x\n+++ b/x\n@@ -1,3 +1,2 @@\n keep\n---removed dashes\n-gone\n+new\n"
    assert changed_lines(diff) == 3


def test_guards_against_mutants_that_would_not_build():
    python = _mutants("python", 'def f(x, n):\n    print("total", x)\n    return "a" + str(max(x, n))\n')
    assert not [m for m in python if m.operator == "arith_swap"]  # string concatenation
    assert [m.original for m in python if m.operator == "swap_args"] == ["x, n"]  # never a message with a value
    # Go: `b.err` is a field, not a use of the local `err`; returning nil would leave `err` unused.
    go = _mutants("go", "package p\n\nfunc (b *R) readErr() error {\n\terr := b.err\n\tb.err = nil\n\treturn err\n}\n")
    assert not [m for m in go if m.operator == "return_value"]
    # The final return of a nested typed function is kept too.
    ts = _mutants("typescript", "function f(xs: number[]): number[] {\n  const g = (x: number): number => {\n"
                                "    return x + 1;\n  };\n  return xs.map(g);\n}\n")
    assert not [m for m in ts if m.operator == "statement_delete" and "return" in m.original]
