"""`apprentice ls`: the stages, the languages (with what their toolchain lacks here) and the example configs."""

from rich.console import Console, Group
from rich.table import Table

console = Console()


def ls_command() -> None:
    """List the stages, languages and example configs apprentice knows."""
    console.print(catalog_table())


def catalog_table() -> Group:
    """Three tables: stages in curriculum order, languages, example configs."""
    from apprentice.config.examples import example_configs
    from apprentice.languages.language import missing_tools
    from apprentice.languages.registry import LANGUAGES
    from apprentice.pipeline.run import STAGES

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
