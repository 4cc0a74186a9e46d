"""A second, deliberately naive Merkle tree implementation, written from RFC 9162 §2.1.

Recursive over ranges D[lo:hi] of one list of entries, exactly as the RFC states MTH,
PATH and PROOF/SUBPROOF, plus the RFC's verification as a recursive recomputation.
No code is shared with `ledger.tlog.merkle`, so the two can be checked against each other.
MTH is memoised per range only to keep all-pairs tests fast.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha256


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Reference:
    def __init__(self, entries: list[bytes]) -> None:
        self.entries = entries
        self.mth = lru_cache(maxsize=None)(self._mth)

    def _mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return sha256(b"").digest()
        if n == 1:
            return sha256(b"\x00" + self.entries[lo]).digest()
        k = split(n)
        return sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)).digest()

    def root(self, n: int) -> bytes:
        return self.mth(0, n)

    def path(self, m: int, n: int, lo: int = 0) -> list[bytes]:
        """PATH(m, D[lo:lo+n])."""
        if n == 1:
            return []
        k = split(n)
        if m < k:
            return self.path(m, k, lo) + [self.mth(lo + k, lo + n)]
        return self.path(m - k, n - k, lo + k) + [self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        """PROOF(m, D[0:n]); empty for m = 0 or m = n."""
        return self.subproof(m, n, 0, True) if 0 < m < n else []

    def subproof(self, m: int, n: int, lo: int, whole: bool) -> list[bytes]:
        if m == n:
            return [] if whole else [self.mth(lo, lo + n)]
        k = split(n)
        if m <= k:
            return self.subproof(m, k, lo, whole) + [self.mth(lo + k, lo + n)]
        return self.subproof(m - k, n - k, lo + k, False) + [self.mth(lo, lo + k)]
