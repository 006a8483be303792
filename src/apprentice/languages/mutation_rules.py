"""What the mutation operators need to know about each language, as data.

The operators in `mutate.py` are generic; everything that differs between grammars lives here:
node type names, operator tokens and their swaps, literal spellings, how to negate a condition,
which statements may be deleted, which files and items are tests. Each language module under
`languages/` holds its own `MutationRules` (its `Language.mutation`); this module holds the record
and the swap tables the grammars share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


def frozen(mapping: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(mapping)


# Swaps shared by the C-family grammars (rust, typescript, go) and, mostly, python.
ARITHMETIC = {"+": "-", "-": "+", "*": "/", "/": "*", "%": "/", "<<": ">>", ">>": "<<", "&": "|", "|": "&", "^": "&"}
AUGMENTED = {"+=": "-=", "-=": "+=", "*=": "/=", "/=": "*=", "%=": "/=", "<<=": ">>=", ">>=": "<<=", "|=": "&=", "&=": "|="}
COMPARISON = {"==": "!=", "!=": "==", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
BOUNDARY = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}
CONNECTIVES = {"&&": "||", "||": "&&"}
BOOLEANS = {"true": "false", "false": "true"}


@dataclass(frozen=True)
class MutationRules:
    """One language's grammar facts for the mutation operators (tree-sitter node type names).

    Zero values map a function's declared return type (the annotation's text, "" when there is
    none) to a literal of that type: `(regex, literal)` pairs, the first full match wins, no
    match means the return-value operator leaves that function alone.
    """

    language: str
    grammar: tuple[str, str]  # (module, function) returning the tree-sitter grammar's language pointer
    extensions: tuple[str, ...]
    # Files and directories that hold tests, never mutated (the bug must be in the code under test).
    test_file_globs: tuple[str, ...]
    test_dirs: frozenset[str]
    test_attributes: frozenset[str]  # attributes that mark a test item (rust `#[cfg(test)]`)
    # Functions: mutation units, and the scopes that qualify their names.
    function_types: frozenset[str]
    scope_name_fields: Mapping[str, str]  # class-like node type -> field holding its name
    receiver_field: str | None  # go methods: the receiver's type qualifies the name
    anonymous_name_fields: Mapping[str, str]  # parent of an unnamed function -> field naming it
    scope_separator: str
    # Expressions.
    binary_types: frozenset[str]
    augmented_types: frozenset[str]
    arithmetic_swaps: Mapping[str, str]
    augmented_swaps: Mapping[str, str]
    comparison_swaps: Mapping[str, str]
    boundary_swaps: Mapping[str, str]
    connective_swaps: Mapping[str, str]
    boolean_types: frozenset[str]
    boolean_flips: Mapping[str, str]
    integer_types: frozenset[str]
    string_types: frozenset[str]
    collection_types: Mapping[str, str]  # node type -> empty literal ("" keeps the delimiters)
    # Conditions: node type -> field (or named-child index) holding the condition.
    condition_fields: Mapping[str, str | int]
    unnegatable_conditions: frozenset[str]  # `if let` patterns are not boolean expressions
    not_type: str  # the node of a negation (`not x`, `!x`)
    not_token: str
    negation: str  # template wrapping an expression in a negation
    # Returns.
    return_types: frozenset[str]
    return_type_field: str
    zero_values: tuple[tuple[str, str], ...]
    tail_expression_returns: bool  # rust: a block's last expression is its value
    tail_expression_excluded: frozenset[str]
    # Statements.
    block_types: frozenset[str]
    deletable_statements: frozenset[str]
    final_return_required: bool  # deleting a typed function's last `return` does not compile
    empty_block_filler: str | None  # python: a block cannot be empty, it gets `pass`
    unused_is_error: bool  # go: an unused variable or import is a compile error
    local_declaration_types: frozenset[str]  # go: nodes whose left side declares locals
    # Calls.
    argument_list_types: frozenset[str]
    non_positional_arguments: frozenset[str]
    unswappable_callees: frozenset[str]
    comment_types: frozenset[str]
