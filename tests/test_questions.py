"""Whether a text asks how things stand (bot/questions.py): then the command words in it
("pause", "done", "8am") are not carried out."""

from __future__ import annotations

import pytest

from bot.reminders.commands import Done, read_command
from bot.sms.questions import asks, question
from bot.text import normalize

ASKING = [
    "why did my texts stop", "y did the messages stop coming", "am i on pause",
    "r my reminders paused rn", "was my program put on hold", "why was i paused",
    "did the staff pause my messages", "did i pause my reminders or are they still coming",
    "did my pause end yet or am i still paused", "is it still 8am for my reminder",
    "cuantos dias hice mis ejercicios esta semana", "hasta cuando estoy en pausa",
    "i havent gotten a reminder in days, why", "could you tell me how many days i did",
    "me podria decir cuantos dias he completado", "mi recordatorio es a las 8 o a las 9?",
    "el recordatorio me sigue llegando a las 7 o cambio?", "hey so what time is my reminder",
]  # fmt: skip
NOT_ASKING = [
    "did them all", "did the exercises", "did it", "do them later", "estoy lista",
    "how about 7pm", "is 7 ok?", "what about tomorrow at 7", "como a las 7", "hasta el lunes",
    "y el 2?", "can you move it to 7pm?", "will you pause it till monday", "pause til monday",
    "are you able to pause it", "is it possible to change it to 8", "que me lo cambien a las 7",
]  # fmt: skip


@pytest.mark.parametrize("text", ASKING)
def test_asks(text):
    assert asks(normalize(text), text)


@pytest.mark.parametrize("text", NOT_ASKING)
def test_does_not_ask(text):
    assert not asks(normalize(text), text)


def test_a_question_mark_asks_unless_something_is_asked_for():
    assert question(normalize("reminders stopped?"), "reminders stopped?")
    assert question(normalize("sigue pausado?"), "sigue pausado?")
    assert not question(normalize("can you pause it?"), "can you pause it?")
    assert not question(normalize("me lo pueden cambiar a las 7?"), "me lo pueden cambiar a las 7?")


@pytest.mark.parametrize(
    "text",
    ["hamstring stretch lying down, how's that one done", "why did my texts stop",
     "i don't get the second one, how's it done", "cuantas sesiones complete esta semana?"],
)  # fmt: skip
def test_a_question_is_no_done(text):
    assert not isinstance(read_command(text), Done)


def test_a_done_stays_a_done():
    for text in ("did them all, pain 3", "done", "ya termine", "did my exercises", "listo 4"):
        assert isinstance(read_command(text), Done), text
