"""The extension's Dart and Java sources, parsed with tree-sitter (grammars from PyPI).

No Flutter or Android SDK can run here, so the seams between Python, Dart and Java are read from
the sources' syntax trees: which methods a Dart ``switch`` answers, which events ``_emit`` sends
and with which keys, which platform methods Dart invokes and Java handles, which channels both
open. Reading the tree (not the text) keeps comments and strings that merely mention a name from
counting.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import tree_sitter_dart
import tree_sitter_java
from tree_sitter import Language, Node, Parser, Tree

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "android" / "flet_livekit"
FLUTTER = PACKAGE / "src" / "flutter" / "flet_livekit"
DART_LIB = FLUTTER / "lib"
ANDROID = FLUTTER / "android"
JAVA_ROOT = ANDROID / "src" / "main" / "java"
JAVA_PACKAGE_DIR = JAVA_ROOT / "org" / "crmvoip" / "flet_livekit"
RES = ANDROID / "src" / "main" / "res"

DART = Language(tree_sitter_dart.language())
JAVA = Language(tree_sitter_java.language())
INVOKE_METHODS = frozenset({"invokeMethod", "invokeListMethod", "invokeMapMethod"})


def dart_files() -> list[Path]:
    return sorted(DART_LIB.rglob("*.dart"))


def java_files() -> list[Path]:
    return sorted(JAVA_ROOT.rglob("*.java"))


@cache
def parse(path: Path) -> Tree:
    language = DART if path.suffix == ".dart" else JAVA
    return Parser(language).parse(path.read_bytes())


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def syntax_errors(tree: Tree) -> list[str]:
    """Where the grammar gave up (``ERROR``) or had to invent a token (missing)."""
    return [
        f"{n.start_point[0] + 1}:{n.start_point[1] + 1}: {_text(n)[:60]!r}"
        for n in walk(tree.root_node)
        if n.type == "ERROR" or n.is_missing
    ]


def string_value(node: Node) -> str:
    """A plain string literal's value (no interpolation: these sources use none in names)."""
    text = _text(node)
    if len(text) < 2 or text[0] not in "'\"" or text[-1] != text[0]:
        raise ValueError(f"not a plain string literal: {text!r}")
    return text[1:-1]


def _text(node: Node) -> str:
    return (node.text or b"").decode()


# -- Dart --------------------------------------------------------------------------------------


def dart_method_body(tree: Tree, name: str) -> Node:
    """The ``function_body`` of the method called ``name`` (the grammar puts it right after the
    method's signature, as a sibling)."""
    for node in walk(tree.root_node):
        if node.type == "method_signature" and _declares(node, name):
            body = node.next_named_sibling
            if body is not None and body.type == "function_body":
                return body
    raise LookupError(f"no Dart method {name}")


def _declares(signature: Node, name: str) -> bool:
    return any(
        child.type == "identifier" and _text(child) == name
        for part in signature.named_children
        for child in part.named_children
    )


def dart_switch_cases(body: Node) -> list[str]:
    """The string constants of every ``case`` in ``body``, in order."""
    return [
        string_value(literal)
        for case in walk(body)
        if case.type == "switch_statement_case"
        for pattern in case.named_children
        if pattern.type == "constant_pattern"
        for literal in pattern.named_children
        if literal.type == "string_literal"
    ]


def dart_call_arguments(root: Node, callee: str) -> list[list[Node]]:
    """For each call ``callee(...)`` under ``root``: its argument expressions."""
    calls = []
    for node in walk(root):
        if node.type != "identifier" or _text(node) != callee:
            continue
        selector = node.next_named_sibling
        if selector is None or selector.type != "selector":
            continue
        arguments = [
            argument.named_children[0]
            for part in selector.named_children
            if part.type == "argument_part"
            for args in part.named_children
            if args.type == "arguments"
            for argument in args.named_children
            if argument.type == "argument" and argument.named_children
        ]
        calls.append(arguments)
    return calls


def dart_emitted_events(tree: Tree) -> dict[str, set[str]]:
    """Every ``_emit("name", {...})``: the event names and, for each, the payload's keys."""
    events: dict[str, set[str]] = {}
    for arguments in dart_call_arguments(tree.root_node, "_emit"):
        keys = events.setdefault(string_value(arguments[0]), set())
        for payload in arguments[1:]:
            keys |= {
                string_value(pair.named_children[0])
                for pair in payload.named_children
                if pair.type == "pair"
            }
    return events


def dart_invoked_platform_methods(tree: Tree) -> set[str]:
    """The method names given to ``invokeMethod``/``invokeListMethod``/``invokeMapMethod``: the
    first string literal after the call's name (generic type arguments come in between)."""
    nodes = list(walk(tree.root_node))
    names = set()
    for i, node in enumerate(nodes):
        if node.type == "identifier" and _text(node) in INVOKE_METHODS:
            literal = next(n for n in nodes[i + 1 :] if n.type == "string_literal")
            names.add(string_value(literal))
    return names


def dart_channels(tree: Tree) -> set[str]:
    """The names given to ``MethodChannel(...)`` and ``EventChannel(...)``."""
    return {
        string_value(arguments[0])
        for kind in ("MethodChannel", "EventChannel")
        for arguments in dart_call_arguments(tree.root_node, kind)
        if arguments and arguments[0].type == "string_literal"
    }


# -- Java --------------------------------------------------------------------------------------


def java_switch_cases(tree: Tree, method: str) -> set[str]:
    """The string ``case`` labels inside the Java method called ``method``."""
    for node in walk(tree.root_node):
        name = node.child_by_field_name("name") if node.type == "method_declaration" else None
        if name is not None and _text(name) == method:
            return {
                string_value(literal)
                for label in walk(node)
                if label.type == "switch_label"
                for literal in label.named_children
                if literal.type == "string_literal"
            }
    raise LookupError(f"no Java method {method}")


def java_channels(tree: Tree) -> set[str]:
    """The names given to ``new MethodChannel(...)`` / ``new EventChannel(...)``."""
    names = set()
    for node in walk(tree.root_node):
        if node.type != "object_creation_expression":
            continue
        kind = node.child_by_field_name("type")
        if kind is None or _text(kind) not in ("MethodChannel", "EventChannel"):
            continue
        arguments = node.child_by_field_name("arguments")
        literals = [
            a for a in (arguments.named_children if arguments else []) if a.type == "string_literal"
        ]
        names |= {string_value(literal) for literal in literals}
    return names


# -- Python ------------------------------------------------------------------------------------


def python_service_methods(path: Path) -> list[str]:
    """Every ``self._call("name", ...)`` of a service's Python side."""
    tree = ast.parse(path.read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "_call"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]
