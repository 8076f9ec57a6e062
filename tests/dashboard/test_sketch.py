"""The HyperLogLog sketch behind "active members in a range": exact for small sets, within a few
per cent for large ones, idempotent, and the union of sketches is the sketch of the union."""

import random

from dashboard import sketch


def sketch_of(values) -> bytearray:
    registers = sketch.empty()
    for value in values:
        sketch.add(registers, value)
    return registers


def test_small_sets_are_counted_exactly_or_nearly():
    assert sketch.estimate(sketch.empty()) == 0
    for n in (1, 2, 3, 10, 50):
        assert sketch.estimate(sketch_of(range(1, n + 1))) == n
    for n in (200, 1000, 4000):
        assert abs(sketch.estimate(sketch_of(range(1, n + 1))) - n) / n < 0.03


def test_large_sets_are_within_the_expected_error():
    values = random.Random(7).sample(range(1, 10**9), 60_000)
    estimate = sketch.estimate(sketch_of(values))
    assert abs(estimate - 60_000) / 60_000 < 0.07  # 3 standard errors of 2.3 %


def test_adding_again_changes_nothing_and_union_is_the_sketch_of_the_union():
    a, b = range(1, 3000), range(2000, 9000)
    once = sketch_of(a)
    assert sketch_of([*a, *a]) == once
    assert sketch.union([sketch_of(a), sketch_of(b)]) == sketch_of(range(1, 9000))
    assert abs(sketch.estimate(sketch.union([sketch_of(a), sketch_of(b)])) - 8999) / 8999 < 0.07
