"""Hostile model answers: each tries to run `window.__xss(...)` (or alert) in the voter's page.

Built from the usual families (script and event-handler injection, URL schemes, SVG/MathML,
markdown links and images, entity and case obfuscation, CSS, forms and frames, template and
mutation tricks), crossed with the places an answer can put them (raw HTML, markdown, code).
"""

from __future__ import annotations

CALL = "window.__xss(1)"

_BASE = [
    f"<script>{CALL}</script>",
    f"<SCRIPT>{CALL}</SCRIPT>",
    f"<script src=data:text/javascript,{CALL}></script>",
    f"<img src=x onerror={CALL}>",
    f'<img src=x onerror="{CALL}">',
    f"<IMG SRC=x OnErRoR={CALL}>",
    f"<svg onload={CALL}>",
    f"<svg><script>{CALL}</script></svg>",
    f"<svg><animate onbegin={CALL} attributeName=x dur=1s>",
    f"<body onload={CALL}>",
    f'<iframe src="javascript:{CALL}"></iframe>',
    f'<iframe srcdoc="<script>parent.{CALL}</script>"></iframe>',
    f'<object data="javascript:{CALL}"></object>',
    f'<embed src="javascript:{CALL}">',
    f'<a href="javascript:{CALL}">click me</a>',
    f'<a href="JaVaScRiPt:{CALL}">click</a>',
    f'<a href="&#106;avascript:{CALL}">click</a>',
    f'<a href="jav&#x09;ascript:{CALL}">click</a>',
    f'<a href="data:text/html,<script>{CALL}</script>">data</a>',
    f"<details open ontoggle={CALL}>",
    f"<input autofocus onfocus={CALL}>",
    f"<select autofocus onfocus={CALL}></select>",
    f"<textarea autofocus onfocus={CALL}></textarea>",
    f"<video><source onerror={CALL}></video>",
    f"<audio src=x onerror={CALL}>",
    f"<marquee onstart={CALL}>x</marquee>",
    f"<div onmouseover={CALL}>hover</div>",
    f'<div style="width:100%;height:100%;position:fixed;top:0" onmouseover={CALL}></div>',
    f"<style>@import 'javascript:{CALL}';</style>",
    f'<div style="background-image:url(javascript:{CALL})">x</div>',
    f'<link rel=stylesheet href="javascript:{CALL}">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{CALL}">',
    f'<form action="javascript:{CALL}"><button>go</button></form>',
    f'<button formaction="javascript:{CALL}">go</button>',
    f"<math><mtext><table><mglyph><style><img src=x onerror={CALL}>",
    f'<noscript><p title="</noscript><img src=x onerror={CALL}>">',
    f"<template><script>{CALL}</script></template>",
    f'<base href="javascript:{CALL}//">',
    f"<isindex action=javascript:{CALL} type=image>",
    f"<xss onpointerenter={CALL} style=display:block>x</xss>",
    f"<x contenteditable onblur={CALL}>lose focus</x>",
    '<img src="x" onerror="&#119;indow.__xss(1)">',
    f'<svg><a xlink:href="javascript:{CALL}"><text x=20 y=20>x</text></a></svg>',
    f"<scr<script>ipt>{CALL}</scr</script>ipt>",
    f'"><script>{CALL}</script>',
    f"'><img src=x onerror={CALL}>",
    f"</textarea><script>{CALL}</script>",
    f"</title><script>{CALL}</script>",
    f"<!--<script>-->{CALL}<!--</script>-->",
    f"<![CDATA[<script>{CALL}</script>]]>",
]

_MARKDOWN = [
    f"[click](javascript:{CALL})",
    f"[click](JAVASCRIPT:{CALL})",
    f"[click](  javascript:{CALL}  )",
    "[click](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3MoMSk8L3NjcmlwdD4=)",
    f"![img](javascript:{CALL})",
    f'![x](x" onerror="{CALL})',
    f'[a](http://x.example "title" onmouseover={CALL})',
    f"<javascript:{CALL}>",
    f"[ref]: javascript:{CALL}\n\n[ref]",
    f"```html\n<script>{CALL}</script>\n```",
    f"```javascript\n{CALL}\n```",
    f"`<img src=x onerror={CALL}>`",
    f"> <script>{CALL}</script>",
    f"* <img src=x onerror={CALL}>",
    f"| a | b |\n|---|---|\n| <script>{CALL}</script> | <img src=x onerror={CALL}> |",
    f"# <svg onload={CALL}>",
    f"**<a href=javascript:{CALL}>bold</a>**",
    f"[![x](http://x.example/a.png)](javascript:{CALL})",
    f'<http://x.example/" onmouseover="{CALL}>',
    f"~~<img src=x onerror={CALL}>~~",
]

_WRAPPERS = [
    "{}",
    "Sure! Here is the answer:\n\n{}\n\nHope it helps.",
]


def payloads() -> list[str]:
    """At least 100 distinct hostile answers."""
    found = [w.format(p) for p in _BASE + _MARKDOWN for w in _WRAPPERS]
    return list(dict.fromkeys(found))
