"""HyperLogLog sketches (Flajolet et al. 2007, with linear counting for small sets): the number of
distinct active members over any date range without keeping one row per customer and day.

A sketch is M = 2**P one-byte registers (P = 11: 2,048 bytes, standard error 1.04/sqrt(M) ≈ 2.3 %;
linear counting makes it exact for a few dozen members unless two of them share a register — for
n members a chance of about n² / 4,096, one short then — and within about 1–2 % up to a few thousand). Adding a customer twice
changes nothing, and the union of two sets is the register-wise maximum, so daily and monthly
sketches are kept incrementally and merged for a range.
"""

from __future__ import annotations

import math
from hashlib import blake2b

P = 11
M = 1 << P
ALPHA = 0.7213 / (1 + 1.079 / M)
_POWERS = [2.0**-r for r in range(65)]


def empty() -> bytearray:
    return bytearray(M)


def _hash(value: int) -> int:
    return int.from_bytes(blake2b(value.to_bytes(8, "little", signed=True), digest_size=8).digest(), "little")


def position(value: int) -> tuple[int, int]:
    """(register, rank) of `value`: the low P bits of its hash pick the register; the rank is the
    position of the first 1 bit in the other 64 - P bits (65 - P when they are all 0)."""
    h = _hash(value)
    rest = h >> P
    return h & (M - 1), (64 - P) - rest.bit_length() + 1


def add(registers: bytearray, value: int) -> None:
    index, rank = position(value)
    if rank > registers[index]:
        registers[index] = rank


def union(sketches) -> bytearray:
    """The register-wise maximum of several sketches (bytes-like, M long)."""
    sketches = [bytes(sketch) for sketch in sketches]
    if not sketches:
        return empty()
    if len(sketches) == 1:
        return bytearray(sketches[0])
    return bytearray(map(max, *sketches))  # one max() per register over all sketches


def estimate(registers: bytes) -> int:
    """The estimated number of distinct values added."""
    zeros = registers.count(0)
    if zeros == M:
        return 0
    raw = ALPHA * M * M / sum(_POWERS[r] for r in registers)
    if raw <= 2.5 * M and zeros:
        return round(M * math.log(M / zeros))
    return round(raw)
