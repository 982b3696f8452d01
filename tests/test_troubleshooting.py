"""The Troubleshooting page quotes the messages as the code writes them.

Every code span on a `**Message:**` line of docs/troubleshooting.md must be
found verbatim in a string literal of src/gan_blocks (adjacent literals and
f-strings joined as Python joins them; a fragment cannot span an f-string
placeholder). Rewording a message in the code fails here until the page
follows.
"""

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "troubleshooting.md"
SOURCES = ROOT / "src" / "gan_blocks"
# A placeholder of an f-string: no quoted fragment may contain it.
HOLE = "\x00"
# ``double`` code spans (which may hold backticks) or `single` ones.
CODE_SPAN = re.compile(r"``\s?(.+?)\s?``|`([^`]+)`")


def _render(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else HOLE for part in node.values
        )
    return None


@functools.lru_cache(maxsize=1)
def source_strings():
    """Every string literal and f-string of the package but docstrings, as Python joins them."""
    strings = []
    for path in sorted(SOURCES.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                docstrings.add(id(body[0].value))
        for node in ast.walk(tree):
            text = _render(node)
            if text and id(node) not in docstrings:
                strings.append(text)
    return tuple(strings)


def quoted_fragments():
    fragments = []
    for number, line in enumerate(PAGE.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("**Message:**"):
            spans = [a or b for a, b in CODE_SPAN.findall(line[len("**Message:**") :])]
            assert spans, f"troubleshooting.md:{number}: a Message line without a quote"
            fragments.extend((number, span) for span in spans)
    return fragments


def test_the_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s+- Troubleshooting: troubleshooting\.md$", nav, re.M)


def test_the_page_quotes_many_messages():
    assert len(quoted_fragments()) >= 150


def test_every_quoted_fragment_is_in_the_code():
    strings = source_strings()
    missing = [
        f"troubleshooting.md:{number}: {fragment!r}"
        for number, fragment in quoted_fragments()
        if not any(fragment in text for text in strings)
    ]
    assert not missing, (
        "The Troubleshooting page quotes fragments that no message in src/gan_blocks "
        "contains; update the page (or the message) so they match:\n" + "\n".join(missing)
    )


def test_a_fragment_cannot_span_a_placeholder():
    strings = source_strings()
    assert any("Training stopped: `" in text for text in strings)
    assert not any("became nan at epoch" in text for text in strings)  # {value} in between.
