"""Render model output (untrusted) as safe HTML: markdown, highlighted code, nothing active.

markdown-it-py renders with raw HTML disabled, Pygments highlights fenced code, and nh3 (the
Ammonia sanitiser) then keeps only an allow-list of tags and attributes: no scripts, styles,
event handlers, images or non-http(s) links, whatever the model wrote.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "span", "div", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "span": {"class"},
    "div": {"class"},
    "code": {"class"},
    "pre": {"class"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_HIGHLIGHT_CHARS = 50_000

_formatter = HtmlFormatter(nowrap=True, classprefix="hl-")


def _highlight(code: str, language: str, _attrs: str) -> str:
    if not language or len(code) > MAX_HIGHLIGHT_CHARS:
        return ""  # markdown-it escapes it as plain code
    try:
        lexer = get_lexer_by_name(language.strip().lower())
    except ClassNotFound:
        return ""
    return highlight(code, lexer, _formatter)


_markdown = (
    # breaks: a single newline is a line break, as chat answers (poems, lists) expect.
    MarkdownIt(
        "commonmark", {"html": False, "linkify": False, "breaks": True, "highlight": _highlight}
    )
    .enable("table")
    .enable("strikethrough")
)


def render_markdown(text: str) -> str:
    """Return sanitised HTML for a model's markdown answer."""
    return nh3.clean(
        _markdown.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
    )


def highlight_css() -> str:
    """The stylesheet for highlighted code (served as a static file)."""
    return _formatter.get_style_defs(".answer-text pre")
