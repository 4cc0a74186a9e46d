"""The one escaping function for text printed to a terminal, by a command or a service.

Text a user, a file or a signed document supplied may carry terminal controls: an ANSI
or OSC escape (`ESC [ 2K`, `ESC ] 8 ;; …`), a carriage return, a backspace, a C1 control
such as CSI (U+009B), or a bidirectional override (U+202E) that makes a line read as
something else. Printed raw, a failing proof bundle could erase its own "invalid" line
and draw "valid … 1000000.00 USD" in its place. Every line the commands print goes
through `printable`, which shows each such character as a visible escape (`\\x1b`,
`\\r`, `\\u202e`) and leaves every other character as it is.
"""

from __future__ import annotations

import re

from ledger.errors import one_line

# Bidirectional embeddings/overrides/isolates and marks that reorder what is shown.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")
_CONTROL_OR_NEWLINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def _escape(match: re.Match) -> str:
    return _escaped(match.group())


def _escaped(char: str) -> str:
    """One character as its visible escape."""
    code = ord(char)
    if char == "\r":
        return "\\r"
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, newlines: bool = True) -> str:
    """`text` with every terminal control shown as an escape; line feeds (and tabs) are
    kept when `newlines`, else escaped too (a document field must stay on its line)."""
    text = str(text)
    pattern = _CONTROL if newlines else _CONTROL_OR_NEWLINE
    return pattern.sub(_escape, text)



def printable_line(text: object, limit: int = 300) -> str:
    """`text` on one line (runs of whitespace, line breaks included, become one space), cut
    to `limit` characters, with every character Python does not call printable shown as an
    escape — stricter than `printable` (invisible format characters too): someone else's
    text in a one-line summary, where nothing may hide."""
    spaced = " ".join(str(text).split())
    return one_line("".join(ch if ch.isprintable() else _escaped(ch) for ch in spaced), limit)
