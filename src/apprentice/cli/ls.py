"""What `apprentice ls` lists: the stages, the languages, and the example configs."""

from pathlib import Path

from rich.console import Group
from rich.table import Table

from apprentice.languages.language import missing_tools
from apprentice.languages.registry import LANGUAGES
from apprentice.pipeline.run import STAGES

# examples/ sits at the root of a source checkout; an installed wheel has none.
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"


def example_configs(directory: Path = EXAMPLES_DIR) -> list[tuple[Path, str]]:
    """(path, the command on its first line) for every example YAML, sorted by name."""
    if not directory.is_dir():
        return []
    examples = []
    for path in sorted(directory.glob("*.yaml")):
        first_line = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
        examples.append((path, first_line.lstrip("# ").strip()))
    return examples


def catalog_table() -> Group:
    """Three tables: stages in curriculum order, languages, example configs."""
    stages = Table("stage", "what it does", title="stages")
    for name, description in STAGES.items():
        stages.add_row(name, description)
    languages = Table("language", "files", "toolchain here", title="languages")
    for name, language in LANGUAGES.items():
        missing = missing_tools(language, language.toolchain + language.lint_tools)
        languages.add_row(name, " ".join(language.extensions), "; ".join(missing) or "complete")
    examples = Table("config", "runs with", title="example configs")
    for path, command in example_configs():
        examples.add_row(path.name, command)
    return Group(stages, languages, examples)
