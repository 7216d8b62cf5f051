from __future__ import annotations

from html.parser import HTMLParser

import pytest

from arena.rendering import render_markdown

SAFE_TAGS = {"p", "a", "code", "pre", "span", "em", "strong", "br", "div"}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def test_markdown_and_code_are_rendered() -> None:
    html = render_markdown("# Title\n\n**bold** and `x`\n\n```python\nprint('hi')\n```\n")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert '<span class="hl-nb">print</span>' in html


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<svg onload=alert(1)>",
        "<iframe src=https://example.org></iframe>",
        '<div style="background:url(javascript:alert(1))">x</div>',
        "![x](https://tracker.example/pixel.png)",
        "<style>body{display:none}</style>",
        '<form action="https://example.org"><button>go</button></form>',
    ],
)
def test_nothing_active_survives(payload: str) -> None:
    parser = _Elements()
    parser.feed(render_markdown(payload))
    for tag, attrs in parser.elements:
        assert tag in SAFE_TAGS, tag
        for name, value in attrs:
            assert not name.startswith("on") and name != "style", name
            assert not (value or "").lower().lstrip().startswith("javascript:"), value


def test_links_are_kept_safe() -> None:
    html = render_markdown("[docs](https://docs.djangoproject.com)")
    assert 'href="https://docs.djangoproject.com"' in html
    assert 'rel="noopener noreferrer nofollow ugc"' in html
