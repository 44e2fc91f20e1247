"""Reply logic beyond the phrasing table: time of day, segment budgets, safety order."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from bot.content import load_content
from bot.replies import Replier
from bot.sms.segments import count_segments

NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def replier():
    return Replier(load_content(), NY)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in the week of Monday 2026-11-23, clinic time."""
    return dt.datetime(2026, 11, 23 + day, hour, minute, tzinfo=NY)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(0, 10, 30), "Yes, we are open now until 12:30pm"),
        (at(0, 13, 0), "We are closed right now. We open again today at 2pm"),  # lunch
        (at(0, 17, 0), "We open again tomorrow at 2pm"),  # Monday after closing
        (at(1, 9, 0), "We open again today at 2pm"),
        (at(4, 7, 59), "We open again today at 8am"),
        (at(4, 13, 0), "We open again Monday at 10am"),  # Friday after closing
        (at(5, 12, 0), "We open again Monday at 10am"),  # Saturday
        (at(6, 23, 0), "We open again tomorrow at 10am"),  # Sunday night
    ],
)
def test_open_now(replier, now, expected):
    assert expected in replier.reply("are you open now?", now).body


def test_open_now_uses_clinic_time_not_utc(replier):
    # 15:30 UTC on a Monday is 10:30 in New York: open.
    now = dt.datetime(2026, 11, 23, 15, 30, tzinfo=dt.UTC)
    assert "open now" in replier.reply("open now", now).body


def test_today_and_tomorrow_follow_the_date(replier):
    assert "Today: open 2pm-7pm" in replier.reply("open today?", at(1, 9)).body
    assert "Closed tomorrow" in replier.reply("open tomorrow?", at(4, 9)).body
    assert "Tomorrow: open 10am" in replier.reply("open tomorrow?", at(6, 9)).body


def test_part_of_day(replier):
    body = replier.reply("are you open monday afternoon", at(2, 9)).body
    assert "Yes, open in the afternoon: 12pm-12:30pm & 2pm-5pm" in body
    body = replier.reply("open friday evening", at(2, 9)).body
    assert "Not open in the evening" in body


@pytest.mark.parametrize(
    "text",
    ["hi", "hours", "where are you", "insurance", "HELP-TEXT", "do you take kaiser",
     "list exercises", "phone", "lower back", "open saturday?", "hola", "cuales son sus horarios",
     "donde estan", "aceptan seguro", "aceptan medicaid", "estan abiertos el sabado",
     "how many reps", "change my reminder time", "no puedo sentir las piernas"],
)  # fmt: skip
def test_short_answers_fit_two_segments(replier, text):
    body = replier.help_text() if text == "HELP-TEXT" else replier.reply(text, at(0, 9)).body
    count = count_segments(body)
    assert count.encoding == "GSM-7"
    assert count.segments <= 2, (text, count, body)


def test_every_exercise_is_complete_and_compact(replier):
    content = load_content()
    for exercise in content.exercises:
        body = replier.exercise_text(exercise)
        for number, step in enumerate(exercise.steps, start=1):
            assert f"{number}. {step}" in body
        for tip in exercise.tips:
            assert tip in body
        count = count_segments(body)
        assert count.encoding == "GSM-7"
        assert "  " not in body and "\n\n" not in body  # no characters paid for nothing
        assert count.segments <= 6, (exercise.name, count)


def test_compliance_texts(replier):
    for body in (replier.opt_out_text(), replier.opt_in_text(), replier.help_text()):
        assert "Back & Spine Clinic" in body
        assert count_segments(body).segments <= 2
    assert "START" in replier.opt_out_text()


def test_emergency_before_anything_else(replier):
    body = replier.reply("do you take aetna? also I lost bladder control", at(0, 10)).body
    assert body.startswith("Please call 911")
    assert "Yes, we accept" not in body


def test_reads_only_the_start_of_a_very_long_text_quickly(replier):
    body = replier.reply("hours " + "blah " * 400, at(0, 10)).body
    assert "Office hours" in body


def test_routine_text(replier):
    every = [e.id for e in load_content().exercises]
    assert replier.routine_text(["cat-camel", "gone"], "en") == (
        "Your routine: Cat and Camel. Text an exercise name for its steps."
    )
    assert replier.routine_text(["cat-camel"], "es").startswith("Su rutina: Gato y camello.")
    assert replier.routine_text(["gone"], "en") is None
    assert count_segments(replier.routine_text(every, "es")).segments <= 2


@pytest.mark.parametrize(
    "text",
    [
        "hamstring stretch and piriformis stretch and kaiser and medicaid and tricare "
        "insurance and address and weekend hours",
        "trunk side stretch ql stretch do you take humana kaiser medicaid tricare oscar "
        "ambetter molina where are you",
        "hours address aetna cat camel appointment price video reminders referral christmas "
        "reps pregnant sign up why did i get",
    ],
)
def test_many_questions_get_the_first_three_within_twilios_limit(replier, text):
    # Twilio refuses a reply over 1,600 characters, so the patient would get nothing.
    reply = replier.reply(text, at(4, 10))
    assert len(reply.body) <= 1600, len(reply.body)
    assert 1 <= len(reply.kind.split("+")) <= 3
    assert len(reply.kind) <= 64  # the width of the column it is logged in


def test_two_long_exercises_and_more_send_the_second_by_name(replier):
    reply = replier.reply(
        "hamstring stretch and piriformis stretch and kaiser and where are you", at(4, 10)
    )
    assert "1. Lie on your back, arms at your sides" in reply.body  # the first one's steps
    assert "Text PIRIFORMIS STRETCH for its steps." in reply.body
    assert "Kaiser is not on our list" in reply.body and "44110" in reply.body


def test_random_mixes_of_known_words_keep_every_promise(replier):
    """2,000 texts made of the words and phrasings the bot knows, in random order (a fixed
    seed): every reply is non-empty, plain GSM-7, within Twilio's 1,600 characters, and
    its kind fits the 64-character column it is logged in."""
    from bot.replies import COMMON, KEYWORDS
    from bot.sms.inbound import candidate
    from bot.sms.reading import read
    from bot.sms.segments import is_gsm7
    from tests.test_phrasings import CASES

    words = [*KEYWORDS, *sorted(COMMON), *(c[0] for c in CASES), "3pm", "#4", "<b>", "\x00"]
    rng = random.Random(1)
    for _ in range(2000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 25)))
        answer = candidate(replier, read(text), at(rng.randint(0, 6), rng.randint(0, 23)))
        assert answer.reply and is_gsm7(answer.reply), text
        assert len(answer.reply) <= 1600 and len(answer.kind) <= 64, text


# Pain during an exercise, in either language: the same safety answer (stop and call),
# never the exercise's steps. Each Spanish phrasing beside its English twin.
PAIN_REPORTS = [
    ("me duele la pierna cuando hago el pelvic tilt, debo parar?",
     "my leg hurts when I do the pelvic tilt, should I stop?"),
    ("me duele la espalda cuando hago los ejercicios", "my back hurts when I do the exercises"),
    ("tengo dolor despues del estiramiento", "I have pain after the stretch"),
    ("me duele cuando hago el cat camel", "it hurts when I do the cat camel"),
    ("siento hormigueo en la pierna al hacer el knee to chest",
     "I feel tingling in my leg doing the knee to chest"),
    ("me duele mas haciendo los ejercicios", "it hurts more doing the exercises"),
    ("el piriformis stretch me duele", "the piriformis stretch hurts"),
    ("me mareo durante la rutina", "I get dizzy during the routine"),
    ("dolor en la cadera con el bridge", "pain in my hip with the bridge"),
]  # fmt: skip


@pytest.mark.parametrize(("spanish", "english"), PAIN_REPORTS)
def test_pain_during_an_exercise_is_answered_alike_in_both_languages(replier, spanish, english):
    now = at(0, 10)
    es, en = replier.reply(spanish, now), replier.reply(english, now)
    assert en.kind == "pain" and "stop" in en.body.lower(), english
    assert es.kind == "pain", (spanish, es.body)
    assert "deje de hacer" in es.body.lower() and "911" in es.body and replier.phone in es.body
    assert "\n1. " not in es.body  # not the exercise's steps


@pytest.mark.parametrize(
    "text",
    [
        "ya no me duele la espalda despues de los ejercicios",
        "que ejercicios me ayudan con el dolor de espalda",
        "cuales estiramientos sirven para el dolor de cadera",
        "como hago el cat camel",
    ],
)
def test_spanish_questions_and_good_news_are_not_pain_reports(replier, text):
    assert replier.reply(text, at(0, 10)).kind != "pain"


def test_the_reply_logic_reads_then_decides_then_writes():
    """bot/replies: reading, then intents, then writing; no module imports a later step,
    and each stays small enough to read in one sitting."""
    import ast
    from pathlib import Path

    import bot.replies

    folder = Path(bot.replies.__file__).parent
    order = ["spanish_words", "words", "safety", "red_flags", "names", "language", "described",
             "reading", "intents", "writing"]  # fmt: skip
    for module in order:
        path = folder / f"{module}.py"
        assert len(path.read_text().splitlines()) < 400, module
        imported = {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.replies")
        } | {
            alias.name
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module == "bot.replies"
            for alias in node.names
        }
        later = set(order[order.index(module) + 1 :])
        assert not imported & later, (module, imported & later)
