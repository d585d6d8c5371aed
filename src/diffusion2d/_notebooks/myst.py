"""MyST syntax the converter reads: directives, their options, code-cell headers, roles.

Scope: regular expressions and small parsers shared by the Markdown conversion
(:mod:`.markdown`) and the reading of the book (:mod:`.book`); no conversion happens here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import yaml

_DIRECTIVE_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})\{(?P<name>[^}\s]+)\}[ \t]*(?P<arg>.*?)\s*$"
)
_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_ROLE_RE = re.compile(r"\{(?P<name>[A-Za-z][\w:+.-]*)\}`(?P<content>[^`]*)`")
_TARGET_RE = re.compile(r"^[ \t]*\((?P<label>[^()\s]+)\)=[ \t]*$")
_MATH_LABEL_RE = re.compile(r"^(?P<math>.*\$\$)[ \t]*\([^()\s]+\)[ \t]*$")
_OPTION_RE = re.compile(r"^[ \t]*:(?P<key>[\w-]+):(?P<value>.*)$")
_REF_TEXT_RE = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_HEADING_RE = re.compile(r"^#{1,6}[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$")
_CODE_CELL_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})\{code-cell\}")


def _closing_fence(char: str, size: int) -> re.Pattern:
    """The line that closes a fence of ``size`` (or more) ``char`` characters."""
    return re.compile(rf"^[ \t]*{re.escape(char)}{{{size},}}[ \t]*$")


def _directive_block(lines: Sequence[str], start: int) -> tuple[list[str], int]:
    """Body lines of the directive opened on ``lines[start]`` and the index after its close."""
    match = _DIRECTIVE_RE.match(lines[start])
    assert match is not None
    fence = match["fence"]
    char, size = fence[0], len(fence)
    close = _closing_fence(char, size)
    body: list[str] = []
    depth = 0  # nested directives that use the same fence length (not valid MyST, but tolerated)
    i = start + 1
    while i < len(lines):
        line = lines[i]
        inner = _DIRECTIVE_RE.match(line)
        if inner and inner["fence"][0] == char and len(inner["fence"]) == size:
            depth += 1
        elif close.match(line):
            if depth == 0:
                return body, i + 1
            depth -= 1
        body.append(line)
        i += 1
    return body, i  # unclosed: MyST closes at the end of the cell


def _split_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    i = 0
    if body and body[0].strip() == "---":  # YAML block of options
        end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), None)
        if end is not None:
            try:
                loaded = yaml.safe_load("\n".join(body[1:end])) or {}
            except yaml.YAMLError:
                loaded = {}
            options = (
                {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
            )
            i = end + 1
    else:
        while i < len(body) and (match := _OPTION_RE.match(body[i])):
            options[match["key"]] = match["value"].strip()
            i += 1
    rest = body[i:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    while rest and not rest[-1].strip():
        rest = rest[:-1]
    return options, rest


def _cell_tags(header: list[str]) -> list[str]:
    """The tags in a code cell's option header (``:tags: [...]`` lines or a YAML block)."""
    if header and header[0].strip() == "---":
        end = next((k for k in range(1, len(header)) if header[k].strip() == "---"), len(header))
        block = "\n".join(header[1:end])
    else:
        block = "\n".join(
            m["key"] + ":" + m["value"] for line in header if (m := _OPTION_RE.match(line))
        )
    try:
        options = yaml.safe_load(block) or {}
    except yaml.YAMLError:
        return []
    tags = options.get("tags", []) if isinstance(options, dict) else []
    return [str(t) for t in tags] if isinstance(tags, list) else [str(tags)]
