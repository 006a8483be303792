"""Hallucinated APIs: calls/imports a patch adds that resolve nowhere, one small repository per language."""

import difflib
from pathlib import Path

import pytest

from apprentice.errors import EvaluationError
from apprentice.evaluation.hallucination import check_patch, patched_files

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}", f"b/{path}", lineterm="")
    return "\n".join(lines) + "\n"


def test_patched_files_rebuilds_the_new_text_and_its_added_lines(tmp_path):
    old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
    new = "a\nB\nc\nd\ne\nf\ng\nh\nnew\ni\nj\n"
    make_repo(tmp_path, {"x.txt": old})
    text, added = patched_files(diff("x.txt", old, new), tmp_path)["x.txt"]
    assert text == new and added == {2, 9}


PY_MODULE = "import requests\n\n\ndef helper():\n    return requests.get('u')\n\n\nclass Box:\n    def size(self):\n        return 1\n"
PY_OLD = "import os\n\nfrom pkg.mod import helper\n\n\ndef run(box):\n    return helper()\n"


def test_python_resolves_against_builtins_stdlib_repo_and_dependencies(tmp_path):
    repo = make_repo(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py": PY_MODULE, "pkg/run.py": PY_OLD})
    new = PY_OLD.replace("import os\n", "import os\nimport numpy\nimport requests\nfrom pkg.mod import nothere, Box\n")
    new += ("\n\ndef more(box):\n    x = os.path.join('a', 'b')\n    y = os.path.joinpath('a')\n    frobnicate(x)\n"
            "    requests.post('u')\n    numpy.zeros(3)\n    box.whatever()\n    return len(Box().size()) + helper()\n")
    check = check_patch(diff("pkg/run.py", PY_OLD, new), repo, "python")
    assert set(check.hallucinated) == {"import numpy", "from pkg.mod import nothere", "os.path.joinpath",
                                       "frobnicate", "numpy.zeros"}
    assert {"os.path.join", "requests.post", "box.whatever", "len", "Box", "helper", "import requests"} <= set(check.calls)


def test_python_self_methods_and_new_helpers(tmp_path):
    old = "class Stack:\n    def push(self, item):\n        self.items = [item]\n"
    new = old + ("\n    def pop(self):\n        self._shrink()\n        return self.peek()\n\n"
                 "    def _shrink(self):\n        return sorted(self.items)\n")
    repo = make_repo(tmp_path, {"stack.py": old})
    check = check_patch(diff("stack.py", old, new), repo, "python")
    assert check.hallucinated == ("self.peek",)  # _shrink is defined by the patch itself
    assert check_patch(diff("stack.py", old, "class Stack:\n    def push(self, item:\n"), repo, "python").calls == ()


def test_fixture_fixes_hallucinate_nothing():
    for language in ("python", "rust", "go", "typescript"):
        patch = (REPOS / language / "fix.patch").read_text()
        assert check_patch(patch, REPOS / language / "repo", language).hallucinated == ()


RUST_OLD = "pub fn helper(x: u32) -> u32 {\n    x + 1\n}\n\npub fn run(v: u32) -> u32 {\n    helper(v)\n}\n"


def test_rust_heuristic(tmp_path):
    repo = make_repo(tmp_path, {"Cargo.toml": '[package]\nname = "my-crate"\n\n[dependencies]\nrand = "0.8"\n',
                                "src/lib.rs": RUST_OLD})
    new = ("use std::collections::HashMap;\nuse serde::Serialize;\nuse rand::Rng;\nuse my_crate::helper;\n\n" + RUST_OLD
           + "\nfn added(v: u32) -> u32 {\n    let m: HashMap<u32, u32> = HashMap::new();\n    frobnicate(v);\n"
             "    let n = m.len();\n    println!(\"{}\", n);\n    made_up!(v);\n    helper(v) + added(v)\n}\n")
    check = check_patch(diff("src/lib.rs", RUST_OLD, new), repo, "rust")
    assert set(check.hallucinated) == {"use serde::Serialize;", "frobnicate", "made_up"}
    assert {"HashMap::new", "println", "helper", "added", "m.len", "use rand::Rng;"} <= set(check.calls)


GO_OLD = "package stats\n\nfunc helper(x int) int {\n\treturn x + 1\n}\n"


def test_go_heuristic(tmp_path):
    repo = make_repo(tmp_path, {"go.mod": "module example.com/stats\n\ngo 1.21\n", "stats.go": GO_OLD})
    new = ('package stats\n\nimport (\n\t"strings"\n\t"github.com/made/up"\n\t"example.com/stats/inner"\n)\n'
           + GO_OLD[len("package stats\n"):]
           + "\nfunc Run(s string) int {\n\tparts := strings.Split(s, \",\")\n\tfrobnicate(parts)\n"
             "\tinner.Do()\n\treturn helper(len(parts))\n}\n")
    check = check_patch(diff("stats.go", GO_OLD, new), repo, "go")
    assert set(check.hallucinated) == {'"github.com/made/up"', "frobnicate"}
    assert {"strings.Split", "inner.Do", "helper", "len", '"strings"'} <= set(check.calls)


TS_OLD = "export function helper(x: number): number {\n  return x + 1;\n}\n"


def test_typescript_heuristic(tmp_path):
    repo = make_repo(tmp_path, {"package.json": '{"name": "t", "devDependencies": {"typescript": "5"}}',
                                "src/stats.ts": TS_OLD, "src/util.ts": "export const one = 1;\n"})
    new = ('import { one } from "./util";\nimport { two } from "./missing";\nimport * as fs from "node:fs";\n'
           'import _ from "lodash";\n' + TS_OLD
           + "export function run(v: number): number {\n  frobnicate(v);\n  const m = new Map<number, number>();\n"
             "  const w = new Widget();\n  return Math.max(helper(v), one, m.size, fs.statSync('x').size);\n}\n")
    check = check_patch(diff("src/stats.ts", TS_OLD, new), repo, "typescript")
    assert set(check.hallucinated) == {'import { two } from "./missing";', 'import _ from "lodash";', "frobnicate",
                                       "Widget"}
    assert {"Map", "Math.max", "helper", "fs.statSync"} <= set(check.calls)


def test_unknown_language_and_other_files(tmp_path):
    with pytest.raises(EvaluationError, match="known: python"):
        check_patch("", tmp_path, "cobol")
    make_repo(tmp_path, {"README.md": "x\n"})
    assert check_patch(diff("README.md", "x\n", "frobnicate()\n"), tmp_path, "python").calls == ()
