"""The languages apprentice grades, registered by name."""

from __future__ import annotations

from apprentice.errors import UnknownNameError
from apprentice.languages import go, python, rust, typescript
from apprentice.languages.language import Language

LANGUAGES: dict[str, Language] = {
    language.name: language for language in (python.LANGUAGE, rust.LANGUAGE, typescript.LANGUAGE, go.LANGUAGE)
}


def get_language(name: str) -> Language:
    """The registered `Language` called `name`; `UnknownNameError` lists the known names."""
    if name not in LANGUAGES:
        raise UnknownNameError(f"unknown language '{name}' (known: {', '.join(LANGUAGES)})")
    return LANGUAGES[name]


def language_names() -> tuple[str, ...]:
    """Registered language names, in registration order."""
    return tuple(LANGUAGES)
