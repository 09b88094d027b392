"""YAML in and out for OpenSLO and Sloth files: guarded multi-document loading, stable dumping.

`yaml.safe_load` refuses python tags but shares aliased nodes, so a "billion laughs" file
loads fast and then explodes in whatever walks it (a validator, `json.dumps`, a deep copy).
Here every document's node graph is measured before anything is constructed: its expanded
size (each alias counted as a full copy), self-referencing aliases, tags outside plain YAML
and duplicate keys are refused with one line naming the line of the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sloview.errors import SpecError

MAX_BYTES = 5_000_000
# Values a file may expand to through aliases: generous for hand-written specs (a file with
# a thousand SLOs holds under 100k values) and small enough that any walk stays well under
# a second.
MAX_EXPANDED_NODES = 200_000
MAX_DEPTH = 64
_CORE = "tag:yaml.org,2002:"
_PLAIN_TAGS = {
    _CORE + name for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge")
}


class _TooDeepError(Exception):
    """Raised from inside the composer; turned into a SpecError with the line."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps, refusing deep nesting early.

    YAML 1.2 (what Go's YAML libraries read, and so the OpenSLO SDK) has no timestamp
    type: an unquoted `startTime: 2022-01-01 12:00:00` is a string there, and must stay one
    here so the validator judges the text that was written.
    """

    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # The composer recurses once per level: a file of ten thousand `[` would otherwise
        # take seconds to end in RecursionError.
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeepError(cast(Any, self).peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_GuardedLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _CORE + "timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_text(path: Path | str) -> str:
    """The text of a spec file; missing and oversized files are refused."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("file not found", where=str(path), hint="check the path")
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise SpecError("is too large for an SLO file (over 5 MB)", where=str(path))
    return data.decode("utf-8", errors="replace")


def load_documents(text: str, name: str = "YAML") -> list[Any]:
    """Every document of a YAML stream (empty ones left out), refusing unsafe YAML."""
    docs: list[Any] = []
    budget = [MAX_EXPANDED_NODES]
    loader: _GuardedLoader | None = None
    try:
        # Inside the try: the reader refuses control characters as soon as it is built.
        loader = _GuardedLoader(text)
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check_graph(node, budget, name)
            doc = loader.construct_document(node)
            if doc is not None:
                docs.append(doc)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"not valid YAML: {problem}", where=_at(name, exc)) from None
    except _TooDeepError as exc:
        raise SpecError(
            f"is nested more than {MAX_DEPTH} levels deep, too deep for an SLO file",
            where=f"{name}, line {exc.line}",
            hint="check the brackets and the indentation",
        ) from None
    except RecursionError:
        raise SpecError(
            "is nested too deeply to be an SLO file", where=name, hint="check the brackets"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return docs


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks (`|`), as PromQL in rule files reads best."""


def _block_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(_CORE + "str", value, style=style)


_BlockDumper.add_representer(str, _block_str)


def dump_documents(docs: list[dict[str, Any]], header: str = "", blocks: bool = False) -> str:
    """Documents as one YAML stream, each starting with `---`, keys in the given order;
    with `blocks`, multi-line strings as literal blocks."""
    body = yaml.dump_all(
        docs,
        Dumper=_BlockDumper if blocks else yaml.SafeDumper,
        explicit_start=True,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,  # PromQL and SQL stay on one line: easier to copy and to diff
    )
    return f"{header}{body}"


def _line(node: Node) -> str:
    return f"line {node.start_mark.line + 1}"


def _check_graph(root: Node, budget: list[int], name: str) -> None:
    """Refuse alias bombs, recursive aliases, non-plain tags and duplicate keys.

    Iterative, with each distinct node sized once: linear in the text however many times
    aliases repeat a node.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(size[id(child)] for child in _children(node))
            size[key] = total
            if total > budget[0]:
                raise SpecError(
                    f"expands to more than {MAX_EXPANDED_NODES:,} values through YAML aliases "
                    "(an alias bomb?)",
                    where=f"{name}, {_line(node)}",
                    hint="write the values out instead of repeating anchors",
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise SpecError(
                "has an alias that refers to itself",
                where=f"{name}, {_line(node)}",
                hint="remove the recursive anchor",
            )
        if node.tag not in _PLAIN_TAGS:
            raise SpecError(
                f"unsupported YAML tag {node.tag.replace(_CORE, '!!')!r}",
                where=f"{name}, {_line(node)}",
                hint="SLO files are plain YAML: remove !!python and other tags",
            )
        if isinstance(node, MappingNode):
            _no_duplicate_keys(node, name)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    budget[0] -= size[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _no_duplicate_keys(node: MappingNode, name: str) -> None:
    # PyYAML keeps the last of two equal keys; Go's YAML refuses them. Refusing here keeps a
    # typo such as a second `target:` from silently winning.
    seen: set[str] = set()
    for key, _ in node.value:
        if isinstance(key, ScalarNode) and key.tag != _CORE + "merge":
            if key.value in seen:
                raise SpecError(
                    f"duplicate key {key.value!r}",
                    where=f"{name}, {_line(key)}",
                    hint="each key may appear once per mapping",
                )
            seen.add(key.value)


def _at(name: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"{name}, line {mark.line + 1}" if mark is not None else name
