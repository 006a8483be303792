"""The gold edit as minimal search/replace blocks: shorter than the diff, and applying to the same result."""
# ruff: noqa: W293 - the diff below has context lines that are a single space

from pathlib import Path

from apprentice.agent.patching import apply_model_patch
from apprentice.data.edits import search_replace_fix

BEFORE = "def f(x):\n    return x\n\n\ndef g(x):\n    return x\n\n\ndef h(y):\n    y += 1\n    return y\n"
FIX = """--- a/m.py
+++ b/m.py
@@ -5,7 +5,7 @@
 def g(x):
-    return x
+    return -x
 
 
 def h(y):
@@ -9,3 +9,3 @@
 def h(y):
-    y += 1
+    y += 2
     return y
"""


def _apply(tmp_path: Path, diff: str) -> str:
    (tmp_path / "m.py").write_text(BEFORE)
    touched, problem = apply_model_patch(tmp_path, diff, lambda relative: tmp_path / relative)
    assert problem == "" and touched == ("m.py",)
    return (tmp_path / "m.py").read_text()


def test_blocks_keep_only_the_context_that_makes_the_search_unique(tmp_path):
    blocks = search_replace_fix(FIX, lambda path: BEFORE if path == "m.py" else None)
    # `    return x` occurs twice, so the first block needs `def g(x):` above it; `    y += 1` is unique.
    assert blocks == ("m.py\n<<<<<<< SEARCH\ndef g(x):\n    return x\n=======\ndef g(x):\n    return -x\n>>>>>>> REPLACE\n"
                      "m.py\n<<<<<<< SEARCH\n    y += 1\n=======\n    y += 2\n>>>>>>> REPLACE")
    assert len(blocks) < len(FIX)
    assert _apply(tmp_path, blocks) == \
        BEFORE.replace("def g(x):\n    return x", "def g(x):\n    return -x").replace("y += 1", "y += 2")


def test_what_blocks_cannot_say_falls_back_to_none():
    new_file = "--- /dev/null\n+++ b/n.py\n@@ -0,0 +1 @@\n+x = 1\n"
    assert search_replace_fix(new_file, lambda path: None) is None
    assert search_replace_fix(FIX, lambda path: None) is None  # the file is not there
    assert search_replace_fix(FIX, lambda path: "unrelated\n") is None  # the hunk does not match
