"""`apprentice ls`: the stages, the languages (with what their toolchain lacks here) and the example configs."""

from rich.console import Group
from rich.table import Table

from apprentice.cli.output import JsonOption, cli_console, print_json

console = cli_console()


def ls_command(as_json: JsonOption = False) -> None:
    """List the stages, languages and example configs apprentice knows."""
    if as_json:
        print_json(catalog())
    else:
        console.print(catalog_table(catalog()))


def catalog() -> dict[str, list[dict[str, str]]]:
    """The stages in curriculum order, the languages (what their toolchain lacks here), the example configs."""
    from apprentice.config.examples import example_configs
    from apprentice.languages.language import missing_tools
    from apprentice.languages.registry import LANGUAGES
    from apprentice.pipeline.run import STAGES

    languages = []
    for name, language in LANGUAGES.items():
        missing = missing_tools(language, language.toolchain + language.lint_tools)
        languages.append({"language": name, "files": " ".join(language.extensions),
                          "toolchain here": "; ".join(missing) or "complete"})
    return {"stages": [{"stage": name, "what it does": description} for name, description in STAGES.items()],
            "languages": languages,
            "example configs": [{"config": path.name, "runs with": command} for path, command in example_configs()]}


def catalog_table(listing: dict[str, list[dict[str, str]]]) -> Group:
    """One table per part of the catalog, its keys as columns."""
    tables = []
    for title, rows in listing.items():
        table = Table(*rows[0], title=title) if rows else Table(title=title)
        for row in rows:
            table.add_row(*row.values())
        tables.append(table)
    return Group(*tables)
