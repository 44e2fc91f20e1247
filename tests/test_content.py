"""The content file: what it holds, and clear errors for broken edits."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from bot.content import DEFAULT_CONTENT_FILE, ContentError, load_content
from bot.sms.segments import count_segments, is_gsm7


@pytest.fixture
def raw():
    return yaml.safe_load(DEFAULT_CONTENT_FILE.read_text(encoding="utf-8"))


def write(tmp_path, data) -> str:
    path = tmp_path / "clinic.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_clinic_page_facts():
    content = load_content()
    assert content.clinic.phone == "703-723-6800"
    assert content.clinic.address == "44110 Ashburn Shopping Plaza #158, Ashburn, VA 20147"
    assert "between Giant and VA ABC" in content.clinic.directions
    assert "different from the plaza name" in content.clinic.directions
    assert len(content.exercises) == 10
    assert [p.name for p in content.insurance][:3] == ["PPO/POS plans", "Aetna", "Cigna"]
    assert len(content.insurance) == 11
    assert content.hours[0][0].start == dt.time(10, 0)
    assert content.hours[0][0].end == dt.time(12, 30)
    assert content.hours[4][0].end == dt.time(13, 0)
    assert content.hours[5] == () and content.hours[6] == ()
    assert "medicaid" in content.other_plans


def test_page_typos_are_fixed():
    content = load_content()
    text = " ".join(
        step for e in content.exercises for step in (*e.steps, *e.tips, e.purpose, e.name)
    )
    assert "as you bed sideways" not in text
    assert "Repeat steps 1-4" not in text  # a step that repeated itself
    assert "hands and overhead" not in text
    assert is_gsm7(text)


def test_every_alias_points_to_one_exercise():
    content = load_content()
    seen: dict[str, str] = {}
    for exercise in content.exercises:
        for alias in exercise.aliases:
            assert seen.setdefault(alias, exercise.id) == exercise.id, alias


def test_missing_file(tmp_path):
    with pytest.raises(ContentError, match="content file not found"):
        load_content(tmp_path / "nope.yaml")


def test_not_yaml(tmp_path):
    path = tmp_path / "clinic.yaml"
    path.write_text("clinic: [unclosed\n")
    with pytest.raises(ContentError, match="not valid YAML"):
        load_content(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["clinic"].pop("phone"), r"clinic\.phone: expected text"),
        (lambda d: d["clinic"].update(phone="call us"), r"clinic\.phone: .* not a phone"),
        (lambda d: d.pop("hours"), r"hours: expected a mapping"),
        (lambda d: d["hours"].update(mon=["10-12"]), r"hours\.mon\[0\]: expected HH:MM-HH:MM"),
        (lambda d: d["hours"].update(tue=["19:00-14:00"]), r"hours\.tue\[0\]: .* must end after"),
        (lambda d: d["hours"].update(fri=["25:00-26:00"]), r"hours\.fri\[0\]: .* not a time"),
        (lambda d: d["hours"].update(funday=[]), r"hours: unknown day 'funday'"),
        (lambda d: d["exercises"][2].pop("steps"), r"exercises\[2\]\.steps: expected a non-empty"),
        (lambda d: d["exercises"][0].update(id="Cat Camel"), r"exercises\[0\]\.id"),
        (lambda d: d["exercises"][1].update(id="cat-camel"), r"exercises\[1\]\.id: .* twice"),
        (lambda d: d["exercises"][3].update(name="Tilt \U0001f600"), r"\[3\]\.name: .*GSM-7"),
        (lambda d: d["insurance"][1].pop("name"), r"insurance\[1\]\.name: expected text"),
        (lambda d: d["areas"][0].update(exercises=["nope"]), r"areas\[0\]\.exercises: .*'nope'"),
        (lambda d: d["other_plans"].append("aetna"), r"other_plans: 'aetna' is also"),
        (lambda d: d.update(exercises="cat camel"), r"exercises: expected a non-empty list"),
        (lambda d: d["clinic"].update(directions_es="Aquí \U0001f600"),
         r"clinic\.directions_es: .*GSM-7"),
        (lambda d: d["clinic"].update(directions_es=["a"]), r"clinic\.directions_es: expected"),
        (lambda d: d["calendar"]["days"]["es"].pop(), r"calendar\.days\.es: 7 names, in order"),
        (lambda d: d["calendar"].pop("months"), r"calendar\.months: expected a mapping"),
    ],
)  # fmt: skip
def test_broken_field_is_named(tmp_path, raw, change, message):
    change(raw)
    with pytest.raises(ContentError, match=message):
        load_content(write(tmp_path, raw))


def test_curly_quotes_pasted_by_staff_are_made_plain(tmp_path, raw):
    raw["exercises"][0]["tips"] = ["Don\u2019t rush \u2013 move slowly."]
    raw["exercises"][0]["es"]["tips"] = ["No se apure \u2013 mu\u00e9vase despacio."]
    content = load_content(write(tmp_path, raw))
    assert content.exercises[0].tips == ("Don't rush - move slowly.",)


def test_broken_content_stops_the_app(make_app, tmp_path, raw):
    from bot.config import ConfigError

    raw["hours"]["mon"] = ["nine to five"]
    with pytest.raises(ConfigError, match=r"hours\.mon\[0\]"):
        make_app(CONTENT_FILE=write(tmp_path, raw))


def test_spanish_directions_are_optional(tmp_path, raw):
    from zoneinfo import ZoneInfo

    from bot.replies import Replier

    del raw["clinic"]["directions_es"]
    content = load_content(write(tmp_path, raw))
    assert content.clinic.directions_es == ""
    body = (
        Replier(content, ZoneInfo("America/New_York"))
        .reply("donde estan", dt.datetime.now(dt.UTC))
        .body
    )
    assert "44110" in body and "between Giant and VA ABC" in body  # the English directions


# --- the message catalogue ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.pop("menu"), r"texts\.menu: missing \(every message needs en and es\)"),
        (lambda t: t["thanks"].pop("es"), r"texts\.thanks\.es: missing: write the message"),
        (lambda t: t["thanks"].update(es=""), r"texts\.thanks\.es: missing"),
        (lambda t: t["open_now"].update(en="Open until {tme}."),
         r"texts\.open_now\.en: unknown placeholder \{tme\} \(known: .*\{time\}"),
        (lambda t: t["call"].update(es="Llame al {phone"), r"texts\.call\.es: a \{ or \}"),
        (lambda t: t["done"].update(es="Buen trabajo \U0001f4aa"), r"texts\.done\.es: .*GSM-7"),
        (lambda t: t["done"].update(en="It's done. Está hecho."), r"texts\.done\.en: .*GSM-7"),
        (lambda t: t.update(menu_two={"en": "x", "es": "y"}), r"texts\.menu_two: no such message"),
        (lambda t: t["invitation"].update(es="{clinic}: responda SI a las {time}. HELP."),
         r"texts\.invitation\.es: must contain STOP"),
        (lambda t: t.update(menu="Hi!"), r"texts\.menu: expected a mapping"),
    ],
)  # fmt: skip
def test_broken_message_is_named(tmp_path, raw, change, message):
    change(raw["texts"])
    with pytest.raises(ContentError, match=message):
        load_content(write(tmp_path, raw))


def test_every_message_in_every_language_and_filled_in(raw):
    from bot.content.messages import LANGUAGES, MESSAGES

    content = load_content()
    assert set(content.texts) == set(MESSAGES)
    for key, names in MESSAGES.items():
        for language in LANGUAGES:
            text = content.say(key, language, **{n: f"<{n}>" for n in names})
            assert "{" not in text and is_gsm7(text), (key, language)
            assert content.clinic.name not in text or "{clinic}" in raw["texts"][key][language]


def test_a_message_edited_in_the_file_is_what_patients_get(tmp_path, raw):
    from zoneinfo import ZoneInfo

    from bot.replies import Replier

    raw["texts"]["thanks"]["en"] = "Any time! Text\n MENU   for more."
    raw["texts"]["hours_week"]["es"] = "Nuestro horario:\n{rows}\nLlame al {phone}."
    content = load_content(write(tmp_path, raw))
    replier = Replier(content, ZoneInfo("America/New_York"))
    now = dt.datetime.now(dt.UTC)
    assert replier.reply("thank you!", now).body == "Any time! Text\nMENU for more."
    assert replier.reply("cual es su horario", now).body.startswith("Nuestro horario:\nLun ")


# --- the exercises in Spanish ------------------------------------------------------------------


def test_every_exercise_is_written_in_spanish_with_the_same_numbers():
    for exercise in load_content().exercises:
        spanish = exercise.spanish
        assert spanish is not None, exercise.id
        assert len(spanish.steps) == len(exercise.steps), exercise.id
        assert len(spanish.tips) == len(exercise.tips), exercise.id
        assert spanish.aliases and set(spanish.aliases) <= set(exercise.aliases), exercise.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e["es"]["steps"].__setitem__(2, "Mantenga 10 segundos."),
         r"exercises\[0\]\.es\.steps\[2\]: the numbers \['10'\] are not the English step's "
         r"\['5'\]: the medical sense must be the same"),
        (lambda e: e["es"]["steps"].pop(), r"\.es\.steps: 5 of them, the English has 6"),
        (lambda e: e["es"]["tips"].pop(), r"\.es\.tips: 1 of them, the English has 2"),
        (lambda e: e["es"].pop("name"), r"exercises\[0\]\.es\.name: expected text"),
        (lambda e: e["es"]["steps"].__setitem__(0, "Manos \U0001f44b"), r"es\.steps\[0\]: .*GSM-7"),
    ],
)  # fmt: skip
def test_a_broken_translation_is_named(tmp_path, raw, change, message):
    change(raw["exercises"][0])
    with pytest.raises(ContentError, match=message):
        load_content(write(tmp_path, raw))


def test_a_spanish_text_gets_the_spanish_steps():
    from zoneinfo import ZoneInfo

    from bot.replies import Replier
    from tests.test_phrasings import with_the_rest

    replier = Replier(load_content(), ZoneInfo("America/New_York"))
    now = dt.datetime.now(dt.UTC)
    for text in ("como hago el cat camel", "gato y camello", "¿cómo se hace el gato camello?"):
        body = with_the_rest(replier, replier.reply(text, now).body)
        assert body.startswith("Gato y camello (Cat and Camel) - para estirar"), text
        assert "3. Mantenga 5 segundos." in body and "Si le duele, pare y llame" in body
    english = with_the_rest(replier, replier.reply("how do I do the cat camel", now).body)
    assert english.startswith("Cat and Camel - to stretch") and "3. Hold for 5 seconds." in english
    # Asked in Spanish for the list: each exercise by its Spanish name (the steps' title
    # gives the handout's English name), within 3 segments.
    listed = replier.reply("que ejercicios tienen", now).body
    assert "1 Gato y camello\n" in listed and "Cat and Camel" not in listed
    assert count_segments(listed).segments <= 3
