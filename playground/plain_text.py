"""Strings that users and files supply, made safe to show: as Markdown, in plotly, character by character.

Streamlit renders Markdown in st.markdown, captions, alerts, toasts and widget labels, with images,
links, bare URLs, LaTeX (`$...$`) and colour directives (`:red[...]`); plotly renders a subset of
HTML in trace names and hover text. A run renamed to `![x](http://tracker/t.png)` would load an
image from another host. Everything a person or a file gives is escaped before it is shown.
"""

import html
import re
import string
import unicodedata

# CommonMark lets a backslash escape any ASCII punctuation; escaped, none of it starts a link, an
# image, emphasis, code, math, a directive or an HTML tag. Quotes, commas, semicolons, question
# marks and the signs + and - start nothing inside a line (newlines become spaces): they stay as
# they are, so messages read the same in their Markdown source; a leading + or - (a list) is escaped.
_MARKDOWN_ESCAPES = str.maketrans({char: "\\" + char for char in string.punctuation if char not in "'\",;?+-"})

# Names for characters that show as nothing (or as something else) on their own.
_SYMBOLS = {"\n": "⏎", " ": "␣", "\t": "⇥", "\r": "␍"}
_SHORT_NAMES = {
    0x00A0: "NBSP",
    0x00AD: "SHY",
    0x200B: "ZWSP",
    0x200C: "ZWNJ",
    0x200D: "ZWJ",
    0x200E: "LRM",
    0x200F: "RLM",
    0x2028: "LINE SEPARATOR",
    0x2029: "PARAGRAPH SEPARATOR",
    0x2060: "WJ",
    0xFEFF: "BOM",
}


# Streamlit turns bare URLs and e-mail addresses into links after parsing, escapes or not; an
# invisible word joiner after "http", "ftp" and "www" and before "@" keeps them from being recognised.
_WORD_JOINER = "\u2060"
_LINK_STARTS = re.compile(r"(?i)(https?|ftp|www)")


def escape_markdown(text):
    """`text` as Markdown that shows it literally: ASCII punctuation backslash-escaped, no link recognised."""
    unlinked = _LINK_STARTS.sub(lambda match: match.group(1) + _WORD_JOINER, str(text)).replace("@", _WORD_JOINER + "@")
    escaped = unlinked.translate(_MARKDOWN_ESCAPES).replace("\n", " ")
    return "\\" + escaped if escaped[:1] in ("+", "-") else escaped


def escape_plotly(text):
    """`text` for a plotly trace name, label or hover text: its HTML subset shows as plain text."""
    return html.escape(str(text), quote=False)


def char_name(char):
    """A character as it can be seen on its own: ⏎ for a newline, ◌́ for a lone accent, U+200D ZWJ."""
    if char in _SYMBOLS:
        return _SYMBOLS[char]
    category = unicodedata.category(char)
    if category.startswith("M"):  # a combining mark is drawn on a dotted circle, as Unicode charts do
        return "◌" + char
    if category in ("Cc", "Cf", "Co", "Cn", "Cs", "Zs", "Zl", "Zp"):
        code = ord(char)
        return f"U+{code:04X} {_SHORT_NAMES[code]}" if code in _SHORT_NAMES else f"U+{code:04X}"
    return char


def as_sentence(message):
    """A message from the engine as a sentence: its first letter capital (the rest untouched: "SGD" stays), a full stop at the end."""
    message = str(message).strip()
    if not message:
        return message
    return message[0].upper() + message[1:] + ("" if message[-1] in ".!?" else ".")


def code_span(text):
    """`text` as an inline code span, which Markdown shows literally; backticks and line breaks, which could end it, are dropped."""
    return "`" + str(text).replace("`", "").replace("\n", " ").replace("\r", " ") + "`"
