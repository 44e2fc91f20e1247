"""The reader of questions about the own program (issue 20), judged on the phrasing tables
and the held-aside sets (tests/program.py): through the signed webhook, each text from an
enrolled patient and from a number not enrolled.

Pure reading over a frozen moment: run on SQLite (the webhook's PostgreSQL statements are
tried by tests/test_program.py and the rest), and left out of the year-on pass."""

from __future__ import annotations

import itertools

import pytest

from tests import program
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="the reader's figures: on SQLite (pure reading)"
)


@pytest.mark.parametrize(
    ("area", "language"),
    list(itertools.product(("my_reminder", "my_routine", "my_week", "my_paused"), ("en", "es"))),
)
def test_the_phrasing_tables(app, area, language):
    """Each table whole: the patient's own answer, the record untouched, and nothing of it
    to a number not enrolled."""
    result = program.score(app, area, "phrasings", language)
    assert result.total >= 25
    assert not result.misses and not result.leaks, "\n".join(result.details())


@pytest.mark.parametrize(
    ("held", "area"),
    list(itertools.product(program.SETS, ("my_reminder", "my_routine", "my_week", "general"))),
)
def test_the_held_aside_sets(app, held, area):
    result = program.score(app, area, held)
    assert result.fraction >= 0.95, f"{result.line()}\n" + "\n".join(result.misses)
    assert not result.leaks, "\n".join(result.leaks)


def test_the_gate_rules_out_nothing_the_reader_reads(monkeypatch):
    """``own_program`` skips a text with none of its signal words: over every text of the
    tables and the held-aside sets, it reads what the whole reader would read."""
    from bot.replies import program as reader
    from bot.text import normalize

    rows = [r for folder in (*program.SETS, "phrasings") for a in program.AREAS
            for r in program.texts(a, folder)]  # fmt: skip
    gated = [reader.own_program(normalize(r["text"]), r["text"]) for r in rows]
    monkeypatch.setattr(reader, "signalled", lambda normalized: True)
    whole = [reader.own_program(normalize(r["text"]), r["text"]) for r in rows]
    assert len(rows) > 900
    assert gated == whole
