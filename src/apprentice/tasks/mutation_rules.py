"""What the mutation operators need to know about each language, as data.

The operators in `mutate.py` are generic; everything that differs between grammars lives here:
node type names, operator tokens and their swaps, literal spellings, how to negate a condition,
which statements may be deleted, which files and items are tests. One `MutationRules` per
language, registered in `RULES_BY_LANGUAGE`; the language modules under `languages/` point at
these instances.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


def _frozen(mapping: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(mapping)


# Swaps shared by the C-family grammars (rust, typescript, go) and, mostly, python.
_ARITHMETIC = {"+": "-", "-": "+", "*": "/", "/": "*", "%": "/", "<<": ">>", ">>": "<<", "&": "|", "|": "&", "^": "&"}
_AUGMENTED = {"+=": "-=", "-=": "+=", "*=": "/=", "/=": "*=", "%=": "/=", "<<=": ">>=", ">>=": "<<=", "|=": "&=", "&=": "|="}
_COMPARISON = {"==": "!=", "!=": "==", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_BOUNDARY = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}
_CONNECTIVES = {"&&": "||", "||": "&&"}
_BOOLEANS = {"true": "false", "false": "true"}


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


PYTHON_RULES = MutationRules(
    language="python",
    grammar=("tree_sitter_python", "language"),
    extensions=(".py",),
    test_file_globs=("test_*.py", "*_test.py", "conftest.py"),
    test_dirs=frozenset({"test", "tests"}),
    test_attributes=frozenset(),
    function_types=frozenset({"function_definition"}),
    scope_name_fields=_frozen({"class_definition": "name"}),
    receiver_field=None,
    anonymous_name_fields=_frozen({}),
    scope_separator=".",
    binary_types=frozenset({"binary_operator", "comparison_operator", "boolean_operator"}),
    augmented_types=frozenset({"augmented_assignment"}),
    arithmetic_swaps=_frozen({**_ARITHMETIC, "//": "/", "**": "*", "@": "*"}),
    augmented_swaps=_frozen({**_AUGMENTED, "//=": "/=", "**=": "*="}),
    comparison_swaps=_frozen({**_COMPARISON, "in": "not in", "not in": "in", "is": "is not", "is not": "is"}),
    boundary_swaps=_frozen(_BOUNDARY),
    connective_swaps=_frozen({"and": "or", "or": "and"}),
    boolean_types=frozenset({"true", "false"}),
    boolean_flips=_frozen({"True": "False", "False": "True"}),
    integer_types=frozenset({"integer"}),
    string_types=frozenset({"string"}),
    # `{}` is a dict, so an emptied set literal must be spelled `set()`.
    collection_types=_frozen({"list": "", "dictionary": "", "tuple": "", "set": "set()"}),
    condition_fields=_frozen({"if_statement": "condition", "elif_clause": "condition",
                              "while_statement": "condition", "conditional_expression": 1}),
    unnegatable_conditions=frozenset(),
    not_type="not_operator",
    not_token="not",
    negation="not ({})",
    return_types=frozenset({"return_statement"}),
    return_type_field="return_type",
    zero_values=((r".*", "None"),),  # python checks no annotation: None is always a possible bug
    tail_expression_returns=False,
    tail_expression_excluded=frozenset(),
    block_types=frozenset({"block"}),
    deletable_statements=frozenset({"expression_statement", "return_statement", "raise_statement",
                                    "if_statement", "break_statement", "continue_statement", "delete_statement"}),
    final_return_required=False,
    empty_block_filler="pass",
    unused_is_error=False,
    local_declaration_types=frozenset(),
    argument_list_types=frozenset({"argument_list"}),
    non_positional_arguments=frozenset({"keyword_argument", "list_splat", "dictionary_splat",
                                        "parenthesized_list_splat", "comment"}),
    unswappable_callees=frozenset(),
    comment_types=frozenset({"comment"}),
)

RUST_RULES = MutationRules(
    language="rust",
    grammar=("tree_sitter_rust", "language"),
    extensions=(".rs",),
    test_file_globs=(),
    test_dirs=frozenset({"tests", "benches", "examples"}),
    test_attributes=frozenset({"#[cfg(test)]", "#[test]"}),
    function_types=frozenset({"function_item"}),
    scope_name_fields=_frozen({"impl_item": "type", "trait_item": "name", "mod_item": "name"}),
    receiver_field=None,
    anonymous_name_fields=_frozen({}),
    scope_separator="::",
    binary_types=frozenset({"binary_expression"}),
    augmented_types=frozenset({"compound_assignment_expr"}),
    arithmetic_swaps=_frozen(_ARITHMETIC),
    augmented_swaps=_frozen(_AUGMENTED),
    comparison_swaps=_frozen(_COMPARISON),
    boundary_swaps=_frozen(_BOUNDARY),
    connective_swaps=_frozen(_CONNECTIVES),
    boolean_types=frozenset({"boolean_literal"}),
    boolean_flips=_frozen(_BOOLEANS),
    integer_types=frozenset({"integer_literal"}),
    string_types=frozenset({"string_literal"}),
    collection_types=_frozen({}),  # array lengths are part of rust's types: emptying one does not compile
    condition_fields=_frozen({"if_expression": "condition", "while_expression": "condition"}),
    unnegatable_conditions=frozenset({"let_condition", "let_chain"}),
    not_type="unary_expression",
    not_token="!",
    negation="!({})",
    return_types=frozenset({"return_expression"}),
    return_type_field="return_type",
    zero_values=((r"bool", "false"), (r"[iu](8|16|32|64|128|size)", "0"), (r"f(32|64)", "0.0"),
                 (r"String", "String::new()"), (r"Option<.*>", "None"), (r"Vec<.*>", "Vec::new()"),
                 (r"&('\w+ )?str", '""')),
    tail_expression_returns=True,
    # Replacing a whole `if`/`match` with a literal deletes the function's logic, not one decision.
    tail_expression_excluded=frozenset({"if_expression", "match_expression", "block", "loop_expression",
                                        "while_expression", "for_expression", "unsafe_block",
                                        "macro_invocation"}),
    block_types=frozenset({"block"}),
    # `let` is never deleted: every later use of the name would fail to compile.
    deletable_statements=frozenset({"expression_statement"}),
    final_return_required=True,
    empty_block_filler=None,
    unused_is_error=False,
    local_declaration_types=frozenset(),
    argument_list_types=frozenset({"arguments"}),
    non_positional_arguments=frozenset({"line_comment", "block_comment", "attribute_item"}),
    unswappable_callees=frozenset(),
    comment_types=frozenset({"line_comment", "block_comment"}),
)

TYPESCRIPT_RULES = MutationRules(
    language="typescript",
    grammar=("tree_sitter_typescript", "language_typescript"),
    extensions=(".ts",),
    test_file_globs=("*.test.ts", "*.spec.ts", "*.d.ts"),
    test_dirs=frozenset({"test", "tests", "__tests__"}),
    test_attributes=frozenset(),
    function_types=frozenset({"function_declaration", "method_definition", "arrow_function",
                              "function_expression", "generator_function_declaration"}),
    scope_name_fields=_frozen({"class_declaration": "name", "abstract_class_declaration": "name",
                               "class": "name", "internal_module": "name"}),
    receiver_field=None,
    anonymous_name_fields=_frozen({"variable_declarator": "name", "public_field_definition": "name",
                                   "pair": "key", "assignment_expression": "left"}),
    scope_separator=".",
    binary_types=frozenset({"binary_expression"}),
    augmented_types=frozenset({"augmented_assignment_expression"}),
    arithmetic_swaps=_frozen({**_ARITHMETIC, "**": "*", ">>>": "<<"}),
    augmented_swaps=_frozen(_AUGMENTED),
    comparison_swaps=_frozen({**_COMPARISON, "===": "!==", "!==": "==="}),
    boundary_swaps=_frozen(_BOUNDARY),
    connective_swaps=_frozen({**_CONNECTIVES, "??": "||"}),
    boolean_types=frozenset({"true", "false"}),
    boolean_flips=_frozen(_BOOLEANS),
    integer_types=frozenset({"number"}),
    string_types=frozenset({"string"}),
    collection_types=_frozen({"array": "", "object": ""}),
    condition_fields=_frozen({"if_statement": "condition", "while_statement": "condition",
                              "do_statement": "condition", "ternary_expression": "condition"}),
    unnegatable_conditions=frozenset(),
    not_type="unary_expression",
    not_token="!",
    negation="!({})",
    return_types=frozenset({"return_statement"}),
    return_type_field="return_type",
    # Unannotated functions may return anything; annotated ones get a literal of their type.
    zero_values=(("", "null"), (r"number", "0"), (r"string", '""'), (r"boolean", "false"),
                 (r".*\[\]", "[]"), (r"Array<.*>", "[]"), (r".*\|\s*null(\s*\|.*)?", "null"),
                 (r".*\|\s*undefined(\s*\|.*)?", "undefined")),
    tail_expression_returns=False,
    tail_expression_excluded=frozenset(),
    block_types=frozenset({"statement_block"}),
    # Declarations are never deleted: later uses would no longer type-check.
    deletable_statements=frozenset({"expression_statement", "return_statement", "if_statement",
                                    "throw_statement", "break_statement", "continue_statement"}),
    final_return_required=True,
    empty_block_filler=None,
    unused_is_error=False,
    local_declaration_types=frozenset(),
    argument_list_types=frozenset({"arguments"}),
    non_positional_arguments=frozenset({"spread_element", "comment"}),
    unswappable_callees=frozenset(),
    comment_types=frozenset({"comment"}),
)

GO_RULES = MutationRules(
    language="go",
    grammar=("tree_sitter_go", "language"),
    extensions=(".go",),
    test_file_globs=("*_test.go",),
    test_dirs=frozenset({"testdata"}),
    test_attributes=frozenset(),
    function_types=frozenset({"function_declaration", "method_declaration", "func_literal"}),
    scope_name_fields=_frozen({}),
    receiver_field="receiver",
    anonymous_name_fields=_frozen({"var_spec": "name"}),
    scope_separator=".",
    binary_types=frozenset({"binary_expression"}),
    augmented_types=frozenset({"assignment_statement", "inc_statement", "dec_statement"}),
    arithmetic_swaps=_frozen({**_ARITHMETIC, "&^": "&"}),
    augmented_swaps=_frozen({**_AUGMENTED, "++": "--", "--": "++"}),
    comparison_swaps=_frozen(_COMPARISON),
    boundary_swaps=_frozen(_BOUNDARY),
    connective_swaps=_frozen(_CONNECTIVES),
    boolean_types=frozenset({"true", "false"}),
    boolean_flips=_frozen(_BOOLEANS),
    integer_types=frozenset({"int_literal"}),
    string_types=frozenset({"interpreted_string_literal", "raw_string_literal"}),
    collection_types=_frozen({"literal_value": ""}),  # `[]int{1, 2}` -> `[]int{}`
    condition_fields=_frozen({"if_statement": "condition"}),
    unnegatable_conditions=frozenset(),
    not_type="unary_expression",
    not_token="!",
    negation="!({})",
    return_types=frozenset({"return_statement"}),
    return_type_field="result",
    zero_values=((r"bool", "false"), (r"u?int(8|16|32|64)?|byte|rune|uintptr|float(32|64)", "0"),
                 (r"string", '""'), (r"error|any|interface\{.*\}|\*.*|\[\].*|map\[.*|func.*|chan.*", "nil")),
    tail_expression_returns=False,
    tail_expression_excluded=frozenset(),
    block_types=frozenset({"statement_list"}),
    # Declarations are never deleted: go refuses both the undefined name and, often, an unused one.
    deletable_statements=frozenset({"expression_statement", "assignment_statement", "inc_statement",
                                    "dec_statement", "return_statement", "if_statement",
                                    "break_statement", "continue_statement"}),
    final_return_required=True,
    empty_block_filler=None,
    unused_is_error=True,
    local_declaration_types=frozenset({"short_var_declaration", "var_spec", "range_clause"}),
    argument_list_types=frozenset({"argument_list"}),
    non_positional_arguments=frozenset({"variadic_argument", "comment"}),
    # Their arguments have different kinds (a type, a slice and its elements): a swap never compiles.
    unswappable_callees=frozenset({"make", "new", "append", "delete"}),
    comment_types=frozenset({"comment"}),
)

RULES_BY_LANGUAGE: Mapping[str, MutationRules] = MappingProxyType(
    {rules.language: rules for rules in (PYTHON_RULES, RUST_RULES, TYPESCRIPT_RULES, GO_RULES)}
)
