"""Spreadsheet-safe CSV cells, shared by every export and import.

A cell starting with =, +, -, @, tab or CR is run as a formula by spreadsheet programs, so
exports prefix such cells with an apostrophe, and imports remove exactly that prefix again:
a value survives export and re-import unchanged, and never becomes a formula on the way.
"""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape(value: object) -> object:
    """Quote a text cell that a spreadsheet would otherwise run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unescape(value: str) -> str:
    """Undo `escape` on a cell read back from a CSV."""
    if value.startswith("'") and value[1:2] and value[1:2] in FORMULA_PREFIXES:
        return value[1:]
    return value
