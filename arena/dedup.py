"""Prompt fingerprints: a normalised exact hash and a MinHash signature for near-duplicates.

Pure functions (numpy only). A prompt is normalised (NFKC, case-folded, punctuation removed,
whitespace collapsed) and hashed; its near-duplicate signature is a MinHash over character
5-shingles of the normalised text, 64 hash functions, split into 16 LSH bands of 4 so that
similar prompts share a band key with high probability and dissimilar ones almost never do.
The database side (which prompt cluster a new prompt joins) is in arena.services.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

SHINGLE = 5
NUM_HASHES = 64
BANDS = 16
ROWS = NUM_HASHES // BANDS
_SPACE = re.compile(r"\s+")

# The hash family h(x) = (a*x + b) >> 32 over 64-bit words (multiply-add-shift, universal for
# 32-bit x). Fixed coefficients: a signature stored today must match one computed next year.
_coefficients = np.random.default_rng(20261202).integers(
    0, 2**64, size=(2, NUM_HASHES), dtype=np.uint64, endpoint=False
)
_A = _coefficients[0] | np.uint64(1)  # odd multipliers
_B = _coefficients[1]
# Shingles hash polynomially over code points; this odd constant folds 64 bits to 32.
_POLY = np.uint64(1_000_003)
_FOLD = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(32)
_BAND_WEIGHTS = np.array([1, 0x100000001B3, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F], np.uint64)


def normalise(text: str) -> str:
    """Fold the forms of a prompt that mean the same: width, case, punctuation, spacing."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in folded)
    return _SPACE.sub(" ", kept).strip()


def exact_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]


def _shingle_hashes(normalised: str) -> np.ndarray:
    """32-bit hashes (as uint64) of every character 5-shingle; the whole text if shorter."""
    points = np.frombuffer(normalised.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if points.size == 0:
        points = np.zeros(1, dtype=np.uint64)
    width = min(SHINGLE, points.size)
    count = points.size - width + 1
    h = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(width):
            h = h * _POLY + points[offset : offset + count]
        return np.unique((h * _FOLD) >> _SHIFT)


def signature(normalised: str) -> np.ndarray:
    """The MinHash signature: per hash function, the least hash over the prompt's shingles."""
    shingles = _shingle_hashes(normalised)
    with np.errstate(over="ignore"):
        hashed = (shingles[:, None] * _A[None, :] + _B[None, :]) >> _SHIFT
    return hashed.min(axis=0).astype(np.uint32)


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per LSH band (band number mixed in, so bands never collide)."""
    rows = sig.astype(np.uint64).reshape(BANDS, ROWS)
    with np.errstate(over="ignore"):
        mixed = (rows * _BAND_WEIGHTS[None, :]).sum(axis=1, dtype=np.uint64)
        mixed = mixed + np.arange(BANDS, dtype=np.uint64) * _FOLD
        mixed = mixed * _FOLD
    return [int(k) for k in mixed.view(np.int64)]


def similarity(sig: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of `sig` to each row of `others` (share of equal minima)."""
    return (others == sig[None, :]).mean(axis=1)


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(bytes(raw), dtype="<u4")


@dataclass(frozen=True)
class Fingerprint:
    normalised: str
    hash: str
    signature: np.ndarray
    bands: list[int]


def fingerprint(text: str) -> Fingerprint:
    norm = normalise(text)
    sig = signature(norm)
    return Fingerprint(normalised=norm, hash=exact_hash(norm), signature=sig, bands=band_keys(sig))
