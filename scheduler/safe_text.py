"""Names that come from files, shown safely: control characters made visible, for logs and terminals.

An article's file name, title or path is chosen by whoever wrote the file. Printed as it is, a newline in
it forges a second log line, an ESC starts a terminal escape sequence (colours, cursor moves, a window title),
and a bidi override (U+202E) shows text in another order than it is stored. :func:`shown` replaces each such
character with a visible escape (a backslash and ``n``, ``x1b``, ``u202e``); everything else, accents and
emoji included, stays as it is. A file ``posts/a<newline>INFO forged.md`` is logged as
``posts/a\\nINFO forged.md``, on one line.

:func:`markup` does the same for text put into a rich markup string, where ``[bold]`` would style too. Text
logs go through :func:`shown` in their formatter (:mod:`scheduler.service.logs`); JSON logs encode it.
"""

from __future__ import annotations

NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
BIDI = (*range(0x200E, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
"""Marks and overrides that change the direction text is shown in (LRM/RLM, LRE...RLO, LRI...PDI)."""
SEPARATORS = (0x2028, 0x2029)
"""LINE and PARAGRAPH SEPARATOR: some viewers break lines at them."""


def _escape(code: int) -> str:
    char = chr(code)
    if char in NAMED:
        return NAMED[char]
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


UNSAFE = (*range(0x20), 0x7F, *range(0x80, 0xA0), *BIDI, *SEPARATORS)
"""C0 controls, DEL, C1 controls (0x9B is a one-byte CSI), bidi controls, line separators."""
_TABLE = {code: _escape(code) for code in UNSAFE}
_JSON_TABLE = {code: f"\\u{code:04x}" for code in UNSAFE if code >= 0x7F}
_TERMINAL_TABLE = {code: escaped for code, escaped in _TABLE.items() if chr(code) not in "\n\t"}


def shown(text: object) -> str:
    """``str(text)`` with every control, bidi and line-separator character replaced by a visible escape
    (``\\n``, ``\\x1b``, ``\\u202e``): one line, and nothing a terminal acts on."""
    return str(text).translate(_TABLE)


def multiline(text: object) -> str:
    """Like :func:`shown`, but newlines stay (a traceback, a message with hints on its own lines)."""
    return "\n".join(shown(line) for line in str(text).split("\n"))


def on_terminal(text: str) -> str:
    """:func:`shown`, but newlines and tabs stay: for whatever a console writes, as a last line of defence
    (the consoles of :mod:`scheduler.cli.common` pass every text they print through it)."""
    return text.translate(_TERMINAL_TABLE)


def markup(text: object) -> str:
    """:func:`shown`, then escaped for rich markup (``[bold]`` in a file name is printed, not applied)."""
    from rich.markup import escape  # noqa: PLC0415  (rich only where a console is)

    return escape(shown(text))


def json_safe(encoded: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) with DEL, the C1 controls, bidi controls and
    line separators also written as ``\\uXXXX`` (JSON escapes only the C0 controls by itself)."""
    return encoded.translate(_JSON_TABLE)
