"""Griffe extension: render Keras-style docstrings with mkdocstrings.

gan-blocks writes docstrings the Keras way (see STYLE.md, item 8):

- `Example:` followed by *unindented* `>>>` lines, so that the same text runs
  as a doctest (`tests/test_docstrings.py`). Google style wants the section's
  content indented; unindented, Markdown would render `>>>` as nested block
  quotes. This extension indents it under an `Examples:` section, which
  mkdocstrings renders as highlighted Python console code.
- A class-level `Returns:` section describing what *calling* the layer (or
  penalty, or metric) returns. A class has no return annotation, so griffe
  would warn (and `mkdocs build --strict` fail); the section is renamed
  `Call returns:`, next to `Call arguments:`, and renders as a titled block.
- A `Call arguments:` section (Keras' name for what `__call__` takes). Griffe
  does not know it and renders it as one block of text, so its entries ran
  together; each `name: description` entry becomes a Markdown list item.

Only the text handed to the docstring parser changes; the source is untouched.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_TITLE = re.compile(r"^Examples?:\s*$")
_RETURNS_TITLE = re.compile(r"^Returns:\s*$")
# A Google-style section title at column 0, e.g. "Reference:" or "Call arguments:".
_SECTION_TITLE = re.compile(r"^[A-Za-z][\w ]*:\s*$")
_CALL_ARGUMENTS_TITLE = re.compile(r"^Call arguments:\s*$")
# An entry of an argument list: "name: text" or "name (type): text", indented.
_ENTRY = re.compile(r"^(\s+)(\*{0,2}[A-Za-z_]\w*)(\s*\([^)]*\))?:\s*(.*)$")


def _argument_list(block: list[str]) -> list[str]:
    """Turns indented `name: text` entries into indented Markdown list items."""
    items: list[list[str]] = []
    indent = None
    for line in block:
        match = _ENTRY.match(line)
        if match and (indent is None or len(match.group(1)) == indent):
            indent = len(match.group(1))
            items.append([f"`{match.group(2)}`{match.group(3) or ''}: {match.group(4)}"])
        elif line.strip() and items:
            items[-1].append(line.strip())
    return [f"    - {' '.join(item)}" for item in items]


def rewrite_docstring(text: str, is_class: bool) -> str:
    """Returns `text` with Keras-style sections made Google-style.

    Args:
        text: A cleaned (dedented) docstring.
        is_class: Whether the docstring is a class's.

    Returns:
        The rewritten docstring.
    """
    lines = text.split("\n")
    output = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _EXAMPLE_TITLE.match(line):
            end = index + 1
            while end < len(lines) and not _SECTION_TITLE.match(lines[end]):
                end += 1
            block = lines[index + 1 : end]
            if any(item.startswith(">>>") for item in block):
                output.append("Examples:")
                output.extend("    " + item if item.strip() else "" for item in block)
                index = end
                continue
        if _CALL_ARGUMENTS_TITLE.match(line):
            end = index + 1
            while end < len(lines) and not _SECTION_TITLE.match(lines[end]):
                end += 1
            output.append(line)
            output.extend(_argument_list(lines[index + 1 : end]))
            output.append("")
            index = end
            continue
        if is_class and _RETURNS_TITLE.match(line):
            line = "Call returns:"
        output.append(line)
        index += 1
    return "\n".join(output)


class KerasDocstrings(griffe.Extension):
    """Rewrites Keras-style docstring sections before they are parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrites the docstring of each object as it is loaded.

        Args:
            obj: The object griffe just created.
            **kwargs: Other event arguments (unused).
        """
        if obj.docstring is not None:
            obj.docstring.value = rewrite_docstring(obj.docstring.value, obj.is_class)
