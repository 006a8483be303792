"""Every shipped example config opens with the command that runs it and validates."""

from pathlib import Path

import pytest

from apprentice.config.models import load_config

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


def test_there_are_examples():
    assert {path.name for path in EXAMPLES} >= {"demo.yaml", "gpt-oss-20b.yaml"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_opens_with_its_command_and_validates(example):
    first_line = example.read_text().splitlines()[0]
    assert first_line.startswith("# apprentice ") and example.name in first_line
    load_config(example, [])
