"""The example run configs shipped in `examples/`, each opening with the command that runs it."""

from pathlib import Path

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
