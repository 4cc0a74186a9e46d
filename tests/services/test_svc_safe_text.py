"""One escaping rule for everything printed: `printable` keeps a text's lines, `printable_line`
makes someone else's text one summary line and hides nothing (format characters too)."""

from services.safe_text import printable, printable_line


def test_printable_shows_terminal_controls_and_keeps_lines():
    assert printable("ok\x1b[2K\rvalid\u202e\nnext") == "ok\\x1b[2K\\rvalid\\u202e\nnext"
    assert printable("a\nb", newlines=False) == "a\\nb"


def test_printable_line_is_one_cut_line_with_every_invisible_character_shown():
    assert printable_line("a\x1b[2J\u200bb\u202e  c\n d") == "a\\x1b[2J\\u200bb\\u202e c d"
    assert printable_line("x" * 500, 20) == "x" * 19 + "…"
    assert printable_line("  \n ") == ""
