import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError
from bot.content import load_content
from bot.replies import Replier
from bot.sms.segments import count_segments, is_gsm7, plain_spanish, to_plain


def test_empty_text():
    assert count_segments("").segments == 0


def test_gsm7_single_and_multipart_limits():
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 161).segments == 2
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3
    assert count_segments("a" * 160).encoding == "GSM-7"


def test_extension_characters_count_twice():
    assert count_segments("[" * 80).units == 160
    assert count_segments("[" * 80).segments == 1
    assert count_segments("[" * 81).segments == 2


def test_one_curly_quote_switches_to_ucs2():
    text = "Don\u2019t " + "a" * 64  # 70 characters
    count = count_segments(text)
    assert count.encoding == "UCS-2"
    assert count.segments == 1
    assert count_segments(text + "a").segments == 2
    assert count_segments("a" * 160).segments < count_segments("\u2019" + "a" * 159).segments


def test_emoji_counts_two_utf16_units():
    assert count_segments("\U0001f600").units == 2


def test_gsm7_letters_of_spanish():
    assert is_gsm7("Se habla Español ¿Qué? ¡Sí!") is False  # á and í are not GSM-7
    assert is_gsm7("Se habla Español ¿Que? ¡Si!") is True


def test_to_plain():
    assert to_plain("\u201cDon\u2019t\u201d \u2013 ok\u2026") == '"Don\'t" - ok...'
    assert is_gsm7(to_plain("\u2018a\u2019 \u2014 b"))


# --- Spanish: plain letters or every accent (SPANISH_ACCENTS) ----------------------------------

SPANISH_ANSWERS = [  # what a Spanish-speaking patient asks most
    "hola", "cual es su horario", "estan abiertos el sabado", "donde estan",
    "que seguros aceptan", "aceptan aetna",
]  # fmt: skip
FRIDAY = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)  # 10 AM in the clinic
ACCENTED = set("áíóúÁÍÓÚ")


def spanish_answers(accents: bool) -> dict[str, str]:
    replier = Replier(load_content(accents=accents), ZoneInfo("America/New_York"))
    answers = {text: replier.reply(text, FRIDAY).body for text in SPANISH_ANSWERS}
    answers["AYUDA"] = replier.help_text(spanish=True)
    return answers


@pytest.mark.parametrize(("accents", "limit"), [(False, 2), (True, 3)])
def test_menu_hours_location_insurance_and_help_fit(accents, limit):
    answers = spanish_answers(accents)
    for text, body in answers.items():
        assert count_segments(body).segments <= limit, (text, body, count_segments(body))
    encodings = {count_segments(body).encoding for body in answers.values()}
    # Plain letters keep every answer GSM-7; with accents some cost UCS-2 (the setting
    # is what makes the difference, not a text with no accent to write).
    assert encodings == ({"GSM-7", "UCS-2"} if accents else {"GSM-7"})


@pytest.mark.parametrize(("accents", "limit"), [(False, 2), (True, 4)])
def test_a_plan_not_on_the_list_with_the_list(accents, limit):
    # Told it is not on the list ("no está"), then the whole list: longer than the rest.
    replier = Replier(load_content(accents=accents), ZoneInfo("America/New_York"))
    body = replier.reply("aceptan medicaid", FRIDAY).body
    assert "Medicaid no est" in body and count_segments(body).segments <= limit


def test_plain_spanish_keeps_the_letters_sms_has():
    plain, accented = load_content(), load_content(accents=True)
    for key in plain.texts:
        text = plain.texts[key]["es"]
        assert not ACCENTED & set(text) and is_gsm7(text), key
        assert plain_spanish(accented.texts[key]["es"]) == text, key
    every = " ".join(t["es"] for t in plain.texts.values())
    assert {"ñ", "é", "¿", "¡"} <= set(every)  # plain SMS text: kept
    assert ACCENTED & set(" ".join(t["es"] for t in accented.texts.values()))


@pytest.mark.parametrize(("accents", "limit"), [(False, 2), (True, 4)])
def test_every_message_of_the_catalogue(accents, limit):
    """Each message on its own, filled in as the code fills it, in both languages: plain
    SMS text in English and in plain Spanish, and within ``limit`` segments."""
    content = load_content(accents=accents)
    values = {"time": "10:30am", "name": "Maria", "routine": "Cat and Camel, Pelvic Tilt",
              "what": "El dolor de pecho o la falta de aire", "which": "el Cat and Camel",
              "exercise": "Cat and Camel", "plans": "Aetna", "days": "12", "pain": "8",
              "window": "entre las 8am y las 9pm", "date": "lunes 7 de dic", "part": "cuello",
              "address": content.clinic.address, "directions": content.clinic.directions_es,
              "areas": "la espalda baja", "exercises": "Cat and Camel, Prayer Stretch",
              "names": "1 Cat and Camel\n2 Prayer Stretch", "tips": "Muevase despacio.",
              "rows": "Lun 10am-12:30pm y 2pm-5pm\nSab y Dom cerrado", "day": "lunes",
              "spans": "10am-12:30pm", "when": "mañana", "start": "8am", "end": "9pm",
              "purpose": "para estirar la espalda", "weekday": "lunes", "month": "dic",
              "count": "2", "english": "Cat and Camel"}  # fmt: skip
    for key in content.texts:
        for language in ("en", "es"):
            if language == "en":
                values["directions"] = content.clinic.directions
            else:
                values["directions"] = content.clinic.directions_es
            text = content.say(key, language, **values)
            count = count_segments(text)
            assert count.segments <= limit, (key, language, count)
            if language == "en" or not accents:
                assert count.encoding == "GSM-7", (key, language)


def test_the_setting_reaches_the_app(make_app):
    assert "dirección" in make_app(SPANISH_ACCENTS="on").extensions["content"].say("help", "es")
    assert "direccion" in make_app().extensions["content"].say("help", "es")
    with pytest.raises(ConfigError, match="SPANISH_ACCENTS must be on or off"):
        make_app(SPANISH_ACCENTS="maybe")


def test_answers_cost_few_segments_over_the_phrasing_tables():
    """The price of an answer: over every phrasing of the English and Spanish tables, at
    most 1.6 segments an answer on average; none over 3, but an exercise's steps (at most
    4: a part of them, with "Text MORE for the rest"). Prints the mean and max per kind
    (pytest -s or -rP shows them; the README has the table)."""
    from collections import defaultdict

    from tests.test_phrasings import CASES as ENGLISH
    from tests.test_phrasings import FRIDAY_10AM, NY
    from tests.test_phrasings_es import CASES as SPANISH

    replier = Replier(load_content(), NY)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for text, *_ in ENGLISH + SPANISH:
        reply = replier.reply(text, FRIDAY_10AM)
        segments = count_segments(reply.body).segments
        by_kind[reply.kind].append(segments)
        limit = 4 if "exercise" in reply.kind.split("+") else 3
        assert segments <= limit, (text, reply.kind, segments, reply.body)
    every = [n for counts in by_kind.values() for n in counts]
    print(f"\n{len(every)} answers: mean {sum(every) / len(every):.2f}, max {max(every)}")
    for kind, counts in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        print(
            f"  {kind:<20} {len(counts):>4} mean {sum(counts) / len(counts):.2f} max {max(counts)}"
        )
    assert sum(every) / len(every) <= 1.6
