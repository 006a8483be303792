"""Per-test report readers on outputs captured from the real runners (pytest, node, cargo, go)."""

from __future__ import annotations

from pathlib import Path

import pytest

from apprentice.errors import UnknownNameError
from apprentice.languages import go, rust
from apprentice.languages.junit import pytest_key, read_node_junit, read_pytest_junit
from apprentice.languages.registry import get_language, language_names

OUTPUTS = Path(__file__).parent / "outputs"


def statuses(cases) -> dict[str, str]:
    return {case.id: case.status for case in cases}


def test_pytest_junit_reads_pass_fail_skip_and_xfail():
    found = statuses(read_pytest_junit("", OUTPUTS / "pytest_junit.xml"))
    assert found["tests.test_stats::test_mean"] == "passed"
    assert found["tests.test_stats::test_median_even"] == "failed"
    assert found["tests.test_stats::test_skipped"] == "skipped"
    assert found["tests.test_stats::test_xfailed"] == "skipped"  # an xfail is never a pass
    assert found["tests.test_stats.TestGroup::test_param[1]"] == "passed"
    assert found["tests.test_stats.TestGroup::test_param[2]"] == "failed"
    assert len(found) == 9


def test_pytest_node_ids_map_onto_junit_ids():
    assert pytest_key("tests/test_stats.py::test_mean") == "tests.test_stats::test_mean"
    assert (
        pytest_key("tests/test_stats.py::TestGroup::test_param[2]")
        == "tests.test_stats.TestGroup::test_param[2]"
    )


def test_missing_or_truncated_report_reads_as_no_tests(tmp_path):
    assert read_pytest_junit("", tmp_path / "absent.xml") == ()
    truncated = tmp_path / "cut.xml"
    truncated.write_text((OUTPUTS / "pytest_junit.xml").read_text()[:300])
    assert read_pytest_junit("", truncated) == ()


def test_node_junit_reads_nested_suites():
    found = statuses(read_node_junit("", OUTPUTS / "node_junit.xml"))
    assert found == {"adds": "passed", "fails": "failed", "skipme": "skipped", "suite > inner": "passed"}


def test_cargo_output_reads_ok_failed_ignored():
    found = statuses(rust.read_tests((OUTPUTS / "cargo_test.txt").read_text(), Path("unused")))
    assert found == {
        "tests::ignored_sample": "skipped",
        "tests::mean_of_four": "passed",
        "tests::median_odd": "passed",
        "tests::median_even": "failed",
    }


def test_go_json_reads_tests_and_subtests():
    found = statuses(go.read_tests((OUTPUTS / "go_test.json").read_text(), Path("unused")))
    assert found == {
        "tinystats::TestMean": "passed",
        "tinystats::TestMedianOdd": "passed",
        "tinystats::TestMedianEven": "failed",
        "tinystats::TestSkipped": "skipped",
        "tinystats::TestTable/one": "passed",
        "tinystats::TestTable": "passed",
    }


def test_printed_text_is_not_a_go_verdict():
    forged = "--- PASS: TestMedianEven (0.00s)\nok  \ttinystats\t0.01s\n"
    assert go.read_tests(forged, Path("unused")) == ()


def test_registry_knows_four_languages_and_names_the_fix():
    assert language_names() == ("python", "rust", "typescript", "go")
    with pytest.raises(
        UnknownNameError, match=r"unknown language 'rustt' \(known: python, rust, typescript, go\)"
    ):
        get_language("rustt")


def test_every_language_is_complete_data():
    for name in language_names():
        language = get_language(name)
        assert language.extensions and language.grammar.startswith("tree_sitter_") and language.toolchain
        assert language.test_surface, f"{name} protects no test files"
