"""Detect answers that name a model or its maker: a voter who can tell who answered is no
longer voting blind, so such votes are kept but not counted (reason ``identity_leak``).

Names come from the catalogue (model display names and slugs, organisation names, and the
aliases operators add) plus the well-known family names below. Matching is case- and
width-insensitive (NFKC, casefold); Latin-script names must stand as whole words, names in
Chinese or Japanese script match anywhere. A one-word name without digits (e.g. "Command",
"Together") is too likely to be an ordinary word: it counts only when listed as an alias.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from arena.models import LanguageModel, Organisation

# Family and product names that betray a maker, beyond what the catalogue names.
KNOWN_ALIASES = (
    "ChatGPT", "GPT-3", "GPT-3.5", "GPT-4", "GPT-4o", "GPT-5", "OpenAI",
    "Claude", "Anthropic",
    "Gemini", "Gemma", "Bard", "PaLM", "Google DeepMind", "DeepMind",
    "Llama", "LLaMA", "Meta AI",
    "Mistral", "Mixtral", "Mistral AI",
    "Grok", "xAI",
    "Qwen", "Tongyi", "通义千问", "通义", "千问", "阿里巴巴", "Alibaba",
    "DeepSeek", "深度求索",
    "Kimi", "Moonshot AI", "月之暗面",
    "ERNIE", "文心一言", "文心", "百度",
    "ChatGLM", "GLM-4", "Zhipu", "智谱",
    "Hunyuan", "混元", "腾讯",
    "MiniMax", "Doubao", "豆包", "字节跳动",
    "Cohere", "Command R",
)  # fmt: skip

MIN_NAME_LENGTH = 3


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _distinctive(name: str) -> bool:
    """Whether a catalogue name is specific enough to count without being an alias."""
    return bool(re.search(r"[\d\-_.:/\s]", name.strip())) or _has_cjk(name)


def _has_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def _split_aliases(value: str) -> list[str]:
    return [a.strip() for a in re.split(r"[,\n]", value) if a.strip()]


def catalogue_names() -> list[str]:
    """Every name that identifies a model or organisation, from the catalogue and aliases."""
    names: set[str] = set(KNOWN_ALIASES)
    for slug, display, aliases in LanguageModel.objects.values_list(
        "slug", "display_name", "aliases"
    ):
        names.update(n for n in (slug, display) if _distinctive(n))
        names.update(_split_aliases(aliases))
    for name, aliases in Organisation.objects.values_list("name", "aliases"):
        if _distinctive(name):
            names.add(name)
        names.update(_split_aliases(aliases))
    return sorted(n for n in names if len(n.strip()) >= MIN_NAME_LENGTH)


# Between the words of a name, text may put spaces, hyphens or underscores ("GPT 4", "gpt_4").
_GAP = r"[\s\-_]*"
_WORD_EDGE_BEFORE = r"(?<![a-z0-9])"
_WORD_EDGE_AFTER = r"(?![a-z0-9])"


def _trie_alternation(names: list[str], end: str) -> str:
    """One regex matching any of `names`, arranged as a trie: branches share their prefixes.

    Python's re tries the branches of a plain alternation one after another at every position
    of the text, so a few hundred names made each answer's scan slow; as a trie, each position
    costs one branch per distinct first character. A longer name is tried before a name that
    is its prefix, so the longest name at a position wins. `end` follows each complete name.
    """
    trie: dict[str, dict] = {}
    for name in names:
        node = trie
        for ch in name:
            node = node.setdefault(_GAP if ch == " " else re.escape(ch), {})
        node[""] = {}  # a name ends here

    def emit(node: dict[str, dict]) -> str:
        branches = [atom + emit(child) for atom, child in sorted(node.items()) if atom]
        if "" in node:
            branches.append(end)  # last: longer names first
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(trie)


@lru_cache(maxsize=8)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    normalised = {normalise(n.strip()) for n in names} - {""}
    # Whole Latin words only, but "我是Claude" counts: CJK letters are not a word boundary, and
    # names in CJK script match anywhere.
    latin = sorted(n for n in normalised if not _has_cjk(n))
    cjk = sorted(n for n in normalised if _has_cjk(n))
    parts = []
    if latin:
        parts.append(_WORD_EDGE_BEFORE + _trie_alternation(latin, _WORD_EDGE_AFTER))
    if cjk:
        parts.append(_trie_alternation(cjk, ""))
    return re.compile("|".join(parts) or r"(?!)")


def find_identity(texts: Iterable[str], names: Iterable[str] | None = None) -> str:
    """Return the first identifying name found in the texts (normalised), or ''."""
    pattern = _pattern(tuple(names if names is not None else catalogue_names()))
    for text in texts:
        match = pattern.search(normalise(text))
        if match:
            return match.group(0)
    return ""
