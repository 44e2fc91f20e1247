"""The held-aside set (tests/heldaside.py): what issue 19's "Done means" asks of the reader,
on texts written apart from its tables."""

from __future__ import annotations

import itertools

import pytest

from tests.heldaside import AREAS, SETS, score

# Every red flag answered 911 first and no near miss; every opt-out and none of the rest;
# every pain score recorded; at least 95% of commands and questions.
REQUIRED = {
    "red_flag": 1.0, "near_miss": 1.0, "opt_out": 1.0, "not_opt_out": 1.0, "done_pain": 1.0,
    "reschedule": 0.95, "pause": 0.95, "later": 0.95, "resume": 0.95, "done": 0.95,
    "question": 0.95,
}  # fmt: skip


@pytest.mark.parametrize(("held", "area"), list(itertools.product(SETS, AREAS)))
def test_the_held_aside_sets(app, held, area):
    result = score(app, area, SETS[held])
    print(result.line())
    misses = "\n".join(result.misses)
    assert result.fraction >= REQUIRED[area], f"{result.line()}\n{misses}"
    assert not result.wrong_language, "\n".join(result.wrong_language)
