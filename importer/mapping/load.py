"""Reading a mapping file: its YAML, and the line of every place in it.

YAML detail: only ``true``/``false`` are booleans and numbers stay text, so
``yes``, ``no``, ``NO`` (Norway), ``0123`` and ``2026-03-01`` mean what they
look like (plain YAML 1.1 would turn them into True, False, 83 and a date).
A key given twice in one section is refused (plain YAML keeps the last one
silently, which would drop a mapped field without a word).

The line map (``yaml_lines``) lets every validation error name the line it is
about; ``importer.mapping.spec`` does the validating.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from importer.errors import MappingError
from importer.mapping.spec import LineMap, Mapping, described, validated


class Msg:
    """What reading a mapping file can say."""
    NO_FILE = "{path}: the mapping file does not exist"
    NOT_READABLE = "{path}: the mapping file cannot be read ({why})"
    BAD_YAML = "{path}: line {line}, column {col}: this is not valid YAML: {why}"
    DUPLICATE_YAML_KEY = "'{key}' appears twice in the same section"
    EMPTY_FILE = "{path}: the mapping file is empty; it needs at least a 'fields:' section"
    TOO_BIG = ("{path}: the mapping file is {size:,} bytes, far more than a mapping needs (at most {limit:,}); "
               "check that it is the right file")
    ALIAS_BOMB = ("{path}: the mapping's YAML aliases (*name) would expand to more than {limit:,} values, which "
                  "no mapping needs (an 'alias bomb'); write the settings out instead")
    NOT_A_MAPPING = "{path}: the mapping file must consist of settings such as 'fields:', not {got}"


_BOOL_TAG = "tag:yaml.org,2002:bool"
_KEEP_TAGS = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"}


class _MappingLoader(yaml.SafeLoader):
    """YAML without the 1.1 surprises: only true/false are booleans, everything else is text.

    Also refuses a key given twice in one section.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, bool, type(None))) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, Msg.DUPLICATE_YAML_KEY.format(key=key), key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_MappingLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in _KEEP_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MappingLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def yaml_lines(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> LineMap:
    """The line number of every place in the document, so errors can point at it."""
    lines: LineMap = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            place = (*path, key_node.value)
            lines[place] = key_node.start_mark.line + 1
            lines.update(yaml_lines(value_node, place))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            place = (*path, index)
            lines[place] = item.start_mark.line + 1
            lines.update(yaml_lines(item, place))
    return lines


MAX_MAPPING_BYTES = 1024 * 1024    # a mapping of hundreds of fields is a few kilobytes
MAX_EXPANDED_NODES = 100_000       # YAML values once every alias is expanded


def expanded_size(node: yaml.Node | None, limit: int = MAX_EXPANDED_NODES) -> int:
    """How many values the document holds once aliases are expanded (counted
    without expanding: each node's size is computed once), stopping past ``limit``."""
    sizes: dict[int, int] = {}

    def size(current: yaml.Node) -> int:
        known = sizes.get(id(current))
        if known is not None:
            return known
        sizes[id(current)] = 1          # a recursive alias counts once
        total = 1
        if isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        else:
            children = []
        for child in children:
            total += size(child)
            if total > limit:
                break
        sizes[id(current)] = total
        return total

    return size(node) if node is not None else 0


def parse_yaml(text: str, path: str) -> tuple[Any, LineMap]:
    """The document in ``text`` and its line map; ``MappingError`` naming line and column if it is no YAML."""
    loader = _MappingLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None and expanded_size(node) > MAX_EXPANDED_NODES:
            raise MappingError(Msg.ALIAS_BOMB.format(path=path, limit=MAX_EXPANDED_NODES))
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        why = " ".join(p for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise MappingError(Msg.BAD_YAML.format(path=path, line=line, col=col, why=why or str(exc))) from None
    finally:
        loader.dispose()
    return data, yaml_lines(node)


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file; raises ``MappingError`` naming the file, line and place."""
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_MAPPING_BYTES:
            raise MappingError(Msg.TOO_BIG.format(path=source, size=size, limit=MAX_MAPPING_BYTES))
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MappingError(Msg.NO_FILE.format(path=source)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(Msg.NOT_READABLE.format(path=source, why=exc)) from None
    data, lines = parse_yaml(text, source)
    if data is None:
        raise MappingError(Msg.EMPTY_FILE.format(path=source))
    if not isinstance(data, dict):
        raise MappingError(Msg.NOT_A_MAPPING.format(path=source, got=described(data)))
    return validated(data, source, lines, base=Path(path).resolve().parent)
