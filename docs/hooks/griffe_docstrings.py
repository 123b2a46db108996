"""griffe extension: read the package's docstrings as the API pages need them, without editing them.

The docstrings are plain text written for ``help()`` and doctest, with equations such as
``Γ^α_{μν}`` and ``a*b*c``, Sphinx roles (``:func:`name```) and an ``Example:`` heading. Read as
Markdown, ``_`` and ``*`` would turn into emphasis (``∂_αΓ^α_{μν}`` loses both underscores),
``<name>`` into a vanished HTML tag, ``>>>`` into a block quote. Before mkdocstrings renders them:

* ``_``, ``*`` are escaped and ``<`` becomes ``&lt;`` in prose, never inside code spans, indented
  blocks (the equations set off by four spaces), fences or doctest lines, nor in the ``name:`` of an
  argument item (griffe must still read the name);
* a doctest outside an ``Examples:`` section gets a code fence;
* Sphinx roles become code spans (the name as written, ``~`` dropped);
* ``Example:`` becomes the Google ``Examples:`` section, so doctests render as code.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc|const):`~?([^`]+)`")
_EXAMPLE = re.compile(r"^(\s*)Example:\s*$")
# The "name:" of a section item ("name (type):", "a, b:", "mesh / devices:" too): left as written.
_ITEM = re.compile(r"^(\s*[\w*][\w*, /]*(?:\s*\([^)]*\))?:\s)")
_SPAN = re.compile(r"(``.+?``|`[^`]+`)")


def _escape_prose(text: str) -> str:
    bullet = re.match(r"\s*[*-]\s", text)  # a list item's marker stays a marker
    out = [bullet.group(0)] if bullet else []
    text = text[bullet.end():] if bullet else text
    for i, part in enumerate(_SPAN.split(text)):
        if i % 2:  # a code span: as written
            out.append(part)
        else:
            out.append(part.replace("\\", "\\\\").replace("_", "\\_").replace("*", "\\*").replace("<", "&lt;"))
    return "".join(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def markdown_docstring(text: str) -> str:
    """The docstring ``text`` made safe to render as Markdown (see the module docstring)."""
    out = []
    fence = doctest = False
    doctest_fence = None  # indentation of the fence opened around a bare doctest, if any
    blank = True
    block = None  # indentation of the indented (code) block being copied, if any
    para = 0  # indentation of the last prose line

    def close_doctest():
        nonlocal doctest, doctest_fence
        if doctest_fence is not None:
            out.append(" " * doctest_fence + "```")
        doctest, doctest_fence = False, None

    for line in _ROLE.sub(r"`\1`", text).split("\n"):
        stripped = line.strip()
        if not stripped:
            close_doctest()
            out.append(line)
            blank = True
            continue
        ind = _indent(line)
        if block is not None and ind < block:
            block = None
        if stripped.startswith("```"):
            fence = not fence
            out.append(line)
        elif fence or block is not None:
            out.append(line)
        elif doctest or stripped.startswith(">>>"):
            # A doctest runs to the next blank line: prompts, continuations, output. Under an
            # Examples: heading (indented below it) griffe renders it as code; a bare one gets a fence.
            if not doctest and ind <= para:
                out.append(" " * ind + "```pycon")
                doctest_fence = ind
            doctest = True
            out.append(line)
        elif blank and ind >= para + 4:
            block = ind
            out.append(line)
        else:
            para = ind
            item = _ITEM.match(line)
            if item:
                out.append(item.group(1) + _escape_prose(line[item.end():]))
            else:
                out.append(_EXAMPLE.sub(r"\1Examples:", _escape_prose(line)))
        blank = False
    close_doctest()
    return "\n".join(out)


class NnworldDocstrings(griffe.Extension):
    def on_object(self, *, obj, loader, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
