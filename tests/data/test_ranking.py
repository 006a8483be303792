"""Preference ranking: hard gates in SPEC order decide first; soft margins only when clear."""

from apprentice.data.ranking import Rank, decide, idiom_score, rank_outcome


def _outcome(applied=True, build=True, failed=(), lint=True, diff=4, files=("a.py",)) -> dict:
    return {"patch_applied": applied, "build_ok": build, "tests_complete": True, "tests": [{"id": "t"}],
            "tests_failed": list(failed), "lint_clean": lint, "diff_lines": diff, "files_touched": list(files)}


def test_hard_gates_decide_in_order():
    green = rank_outcome(_outcome(), "python", [])
    assert green.hard == (True, True, True, True)
    red = rank_outcome(_outcome(failed=("t",)), "python", [])
    unbuilt = rank_outcome(_outcome(build=False, lint=None), "python", [])
    unapplied = rank_outcome(_outcome(applied=False, build=None, lint=None, diff=0, files=()), "python", [])
    assert decide(green, red) == "hard gate 'tests pass': chosen passes, rejected fails"
    assert decide(red, unbuilt) == "hard gate 'builds': chosen passes, rejected fails"
    assert decide(unbuilt, unapplied) == "hard gate 'patch applies': chosen passes, rejected fails"
    assert decide(red, green) == ""  # the worse one never wins
    ordered = sorted([unapplied, green, unbuilt, red], key=Rank.key, reverse=True)
    assert ordered == [green, red, unbuilt, unapplied]


def test_lint_is_the_last_hard_gate():
    clean = rank_outcome(_outcome(diff=20), "python", [])
    warned = rank_outcome(_outcome(lint=False, diff=2), "python", [])
    assert decide(clean, warned) == "hard gate 'lint clean': chosen passes, rejected fails"


def test_soft_margin_must_be_clear():
    small = rank_outcome(_outcome(diff=4), "python", [])
    assert decide(small, rank_outcome(_outcome(diff=5), "python", [])) == ""  # noise
    assert decide(small, rank_outcome(_outcome(diff=12), "python", [])) == "soft: smaller diff (4 lines against 12)"
    two_files = rank_outcome(_outcome(diff=4, files=("a.py", "b.py")), "python", [])
    assert decide(small, two_files) == "soft: fewer files (1 against 2)"


def test_idioms_per_language():
    assert idiom_score("rust", ["let v = parse(s).unwrap();"]) == -1
    assert idiom_score("rust", ["let v = parse(s)?;"]) == 1
    assert idiom_score("go", ['return fmt.Errorf("read %s: %w", path, err)']) == 1
    assert idiom_score("typescript", ["const x: any = y;"]) == -1
    assert idiom_score("python", ["def mean(values: list[float]) -> float:"]) >= 1
    typed = rank_outcome(_outcome(), "rust", ["let v = parse(s)?;"])
    untyped = rank_outcome(_outcome(), "rust", ["let v = parse(s).unwrap();"])
    assert decide(typed, untyped) == "soft: more idiomatic (score 1 against -1)"
