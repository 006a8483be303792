"""Mutation operators: plain functions from one syntax node to byte-range edits, registered by name.

Each operator is generic over languages; what a grammar calls things (node types, tokens,
literals) comes from the language's `MutationRules`. An operator only proposes edits: `mutate.py`
keeps those that still parse and differ from the original.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tree_sitter import Node

from apprentice.languages.mutation_rules import MutationRules

MAX_DELETED_LINES = 4  # a deleted statement longer than this is a rewrite, not a slip


@dataclass(frozen=True)
class Edit:
    """Replace bytes `start:end` of the source with `replacement`."""

    start: int
    end: int
    replacement: str


@dataclass(frozen=True)
class OperatorContext:
    """What an operator may read besides the node: the language's rules and the enclosing function."""

    rules: MutationRules
    source: bytes
    function: Node


Operator = Callable[[Node, OperatorContext], Iterator[Edit]]


def text_of(node: Node | None) -> str:
    """A node's source text ("" for no node)."""
    return node.text.decode("utf-8") if node is not None and node.text is not None else ""


def _code_children(node: Node, rules: MutationRules) -> list[Node]:
    return [child for child in node.named_children if child.type not in rules.comment_types]


# --- operators ----------------------------------------------------------------------------------


def _token_swaps(node: Node, swaps: dict[str, str] | object) -> Iterator[Edit]:
    for child in node.children:
        if not child.is_named and child.type in swaps:  # type: ignore[operator]
            yield Edit(child.start_byte, child.end_byte, swaps[child.type])  # type: ignore[index]


def arith_swap(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """`a + b` -> `a - b`, `x *= 2` -> `x /= 2`, go `i++` -> `i--`."""
    rules = context.rules
    if node.type in rules.binary_types and not any(c.type in rules.string_types for c in node.named_children):
        yield from _token_swaps(node, rules.arithmetic_swaps)  # `"a" + b` is concatenation: `-` is no slip
    if node.type in rules.augmented_types:
        yield from _token_swaps(node, rules.augmented_swaps)


def compare_swap(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """`==` <-> `!=`, `<` <-> `>`, python `in` <-> `not in`, typescript `===` <-> `!==`."""
    if node.type in context.rules.binary_types:
        yield from _token_swaps(node, context.rules.comparison_swaps)


def boundary(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """Off-by-one comparisons: `<` <-> `<=`, `>` <-> `>=`."""
    if node.type in context.rules.binary_types:
        yield from _token_swaps(node, context.rules.boundary_swaps)


def logic_flip(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """Logical connectives: `and` <-> `or`, `&&` <-> `||`."""
    if node.type in context.rules.binary_types:
        yield from _token_swaps(node, context.rules.connective_swaps)


def bool_flip(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """Boolean literals: `True` <-> `False`, `true` <-> `false`."""
    text = text_of(node)
    if node.type in context.rules.boolean_types and text in context.rules.boolean_flips:
        yield Edit(node.start_byte, node.end_byte, context.rules.boolean_flips[text])


def constant(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """Integers 0 <-> 1, others +-1; non-empty strings and collections emptied."""
    rules, text = context.rules, text_of(node)
    if node.type in rules.integer_types:
        match = re.fullmatch(r"(\d+)([iu](?:8|16|32|64|128|size))?", text)
        if match:
            value, suffix = int(match[1]), match[2] or ""
            for new in {0: (1,), 1: (0, 2)}.get(value, (value + 1, value - 1)):
                yield Edit(node.start_byte, node.end_byte, f"{new}{suffix}")
    elif node.type in rules.string_types and node.parent is not None and node.parent.type != "expression_statement":
        # A string that is a whole statement is a docstring or directive: emptying it changes nothing.
        children = node.children
        if len(children) >= 3 and (not children[0].is_named or children[0].type == "string_start"):
            yield Edit(node.start_byte, node.end_byte, text_of(children[0]) + text_of(children[-1]))
    elif node.type in rules.collection_types and _code_children(node, rules):
        empty = rules.collection_types[node.type] or text_of(node.children[0]) + text_of(node.children[-1])
        yield Edit(node.start_byte, node.end_byte, empty)


def negate_condition(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """The condition of an `if`/`while`/ternary negated, or its existing negation removed."""
    rules = context.rules
    if node.type not in rules.condition_fields:
        return
    where = rules.condition_fields[node.type]
    condition = node.named_child(where) if isinstance(where, int) else node.child_by_field_name(where)
    if condition is None or condition.type in rules.unnegatable_conditions:
        return
    if condition.type == "parenthesized_expression" and len(_code_children(condition, rules)) == 1:
        condition = _code_children(condition, rules)[0]  # typescript's `if (x)`: negate inside the parentheses
    if condition.type == rules.not_type and condition.children and condition.children[0].type == rules.not_token:
        yield Edit(condition.start_byte, condition.end_byte, text_of(condition.named_children[-1]))
    else:
        yield Edit(condition.start_byte, condition.end_byte, rules.negation.format(text_of(condition)))


def return_value(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """A returned value replaced by a literal of the function's return type (`None`, `0`, `nil`)."""
    rules = context.rules
    if node.type in rules.return_types:
        values = _code_children(node, rules)
    elif rules.tail_expression_returns and _is_tail_expression(node, context):
        values = [node]
    else:
        return
    function = _enclosing_function(node, rules) or context.function
    types = _result_types(function, rules)
    if len(values) == 1 and len(types) > 1 and values[0].type == "expression_list":
        values = _code_children(values[0], rules)  # go: `return n, err` against `(int, error)`
    if not values or len(values) != len(types):
        return
    for value, result_type in zip(values, types, strict=True):
        literal = next((lit for pattern, lit in rules.zero_values if re.fullmatch(pattern, result_type)), None)
        if literal is not None and literal != text_of(value):
            yield Edit(value.start_byte, value.end_byte, literal)


def statement_delete(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """A statement removed (python: the only statement of a block becomes `pass`)."""
    rules, block = context.rules, node.parent
    if block is None or block.type not in rules.block_types or node.type not in rules.deletable_statements:
        return
    if node.end_point.row - node.start_point.row >= MAX_DELETED_LINES or _is_docstring(node, rules):
        return
    siblings = _code_children(block, rules)
    if rules.final_return_required and node.id == siblings[-1].id and _returns(node, rules) \
            and _is_function_body(block, node, rules):
        return  # a typed function without its final return does not compile
    if len(siblings) == 1 and rules.empty_block_filler is not None:
        yield Edit(node.start_byte, node.end_byte, rules.empty_block_filler)
        return
    yield _whole_lines(node, context.source)


def swap_args(node: Node, context: OperatorContext) -> Iterator[Edit]:
    """Two adjacent positional call arguments swapped: `f(a, b)` -> `f(b, a)`."""
    rules = context.rules
    if node.type not in rules.argument_list_types or node.parent is None:
        return
    if text_of(node.parent.child_by_field_name("function")) in rules.unswappable_callees:
        return
    arguments = _code_children(node, rules)
    for first, second in itertools.pairwise(arguments):
        if first.type in rules.non_positional_arguments or second.type in rules.non_positional_arguments:
            continue
        if _literal_kind(first, rules) != _literal_kind(second, rules):
            continue  # a message, format string or count swapped with a value: a type error, not a slip
        if text_of(first) != text_of(second):
            between = context.source[first.end_byte:second.start_byte].decode("utf-8")
            yield Edit(first.start_byte, second.end_byte, text_of(second) + between + text_of(first))


OPERATORS: dict[str, Operator] = {
    "arith_swap": arith_swap,
    "compare_swap": compare_swap,
    "boundary": boundary,
    "logic_flip": logic_flip,
    "bool_flip": bool_flip,
    "negate_condition": negate_condition,
    "constant": constant,
    "return_value": return_value,
    "statement_delete": statement_delete,
    "swap_args": swap_args,
}


# --- what the operators ask about the tree --------------------------------------------------------


def _enclosing_function(node: Node, rules: MutationRules) -> Node | None:
    parent = node.parent
    while parent is not None and parent.type not in rules.function_types:
        parent = parent.parent
    return parent


def _result_types(function: Node, rules: MutationRules) -> list[str]:
    """The declared result types, one per returned value; `[""]` when there is no annotation."""
    result = function.child_by_field_name(rules.return_type_field)
    if result is None:
        return [""]
    if result.type != "parameter_list":
        return [text_of(result).lstrip(":").strip()]
    types = []  # go's `(n int, err error)` and `(a, b int)`: one type per declared name
    for declaration in _code_children(result, rules):
        names = len(declaration.children_by_field_name("name"))
        types.extend([text_of(declaration.child_by_field_name("type"))] * max(1, names))
    return types


def _is_function_body(block: Node, node: Node, rules: MutationRules) -> bool:
    """Whether `block` (or its parent: go's statement list) is the body of `node`'s innermost function."""
    function = _enclosing_function(node, rules)
    body = function.child_by_field_name("body") if function is not None else None
    return body is not None and (block.id == body.id or block.parent is not None and block.parent.id == body.id)


def _is_tail_expression(node: Node, context: OperatorContext) -> bool:
    """Rust: the function body's last expression, which is its return value."""
    block, rules = node.parent, context.rules
    if block is None or block.parent is None or node.type in rules.tail_expression_excluded:
        return False
    body = block.parent.child_by_field_name("body") if block.parent.type in rules.function_types else None
    if body is None or body.id != block.id:
        return False  # a nested block's value is not the function's
    siblings = _code_children(block, rules)
    statement = node.type.endswith(("_statement", "_declaration", "_item"))
    return not statement and siblings[-1].id == node.id and node.type not in rules.deletable_statements


def _literal_kind(node: Node, rules: MutationRules) -> str:
    return "string" if node.type in rules.string_types else "integer" if node.type in rules.integer_types else ""


def _returns(statement: Node, rules: MutationRules) -> bool:
    return statement.type in rules.return_types or any(c.type in rules.return_types for c in statement.named_children)


def _is_docstring(statement: Node, rules: MutationRules) -> bool:
    children = _code_children(statement, rules)
    return len(children) == 1 and children[0].type in rules.string_types


def _whole_lines(node: Node, source: bytes) -> Edit:
    """Delete the node, with its lines when nothing else shares them (no blank line left behind)."""
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    line_end = source.find(b"\n", node.end_byte)
    line_end = len(source) if line_end == -1 else line_end + 1
    if source[line_start:node.start_byte].strip() or source[node.end_byte:line_end].strip():
        return Edit(node.start_byte, node.end_byte, "")
    return Edit(line_start, line_end, "")


# --- functions: the units a mutation stays inside -----------------------------------------------


def _is_test_item(node: Node, rules: MutationRules) -> bool:
    """Rust: an item under `#[cfg(test)]` or `#[test]` (its attributes are its previous siblings)."""
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type == "attribute_item":
        if text_of(sibling).replace(" ", "") in rules.test_attributes:
            return True
        sibling = sibling.prev_named_sibling
    return False


def _function_name(function: Node, rules: MutationRules) -> str:
    name = function.child_by_field_name("name")
    parent = function.parent
    if parent is not None and parent.type == "expression_list":
        parent = parent.parent  # go: `var f = func() {}` holds the literal in a list of values
    if name is None and parent is not None and parent.type in rules.anonymous_name_fields:
        name = parent.child_by_field_name(rules.anonymous_name_fields[parent.type])
    text = text_of(name) or "<anonymous>"
    receiver = function.child_by_field_name(rules.receiver_field) if rules.receiver_field else None
    if receiver is not None:  # go: `func (b *Buffer[T]) Len()` -> `Buffer.Len`
        parameters = _code_children(receiver, rules)
        receiver_type = text_of(parameters[0].child_by_field_name("type")) if parameters else ""
        text = f"{receiver_type.lstrip('*').split('[')[0]}{rules.scope_separator}{text}"
    return text


def function_units(root: Node, rules: MutationRules) -> Iterator[tuple[Node, str]]:
    """Each outermost function or method (nested ones belong to it) with its qualified name, in source order."""
    stack: list[tuple[Node, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, scope = stack.pop()
        if node.type in rules.function_types:
            yield node, rules.scope_separator.join((*scope, _function_name(node, rules)))
            continue
        if node.type in rules.scope_name_fields:
            name = text_of(node.child_by_field_name(rules.scope_name_fields[node.type])).split("<")[0]
            scope = (*scope, name)
        children = [child for child in node.named_children if not _is_test_item(child, rules)]
        stack.extend((child, scope) for child in reversed(children))


