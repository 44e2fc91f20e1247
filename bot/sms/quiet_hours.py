"""Sending hours: when a text the app starts itself (a reminder, an invitation) may go out.

The clinic's own window (``REMINDER_WINDOW``, default 08:00-21:00) holds everywhere; where
the patient's state has a stricter law, its hours on that day of the week hold too (the
table is data: ``quiet_hours.yaml`` beside this module, each state with its statute). The
patient's state is the one staff recorded, else the one the number's area code is in
(phonenumbers' geocoder), else the clinic's (``CLINIC_STATE``). ``STATE_QUIET_HOURS=off``
leaves only the clinic's window. Hours are read in the patient's own time zone.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
import yaml

from bot.text import normalize

Window = tuple[dt.time, dt.time]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class QuietHoursError(ValueError):
    """The table is malformed; the message says where."""


@dataclass(frozen=True)
class StateRule:
    code: str
    name: str
    source: str
    days: tuple[Window | None, ...]  # Monday first; None: no texts that day


def _window(text: str, where: str) -> Window | None:
    if str(text).strip().lower() == "none":
        return None
    match = re.fullmatch(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})", str(text).strip())
    if not match:
        raise QuietHoursError(f"{where}: {text!r} is not HH:MM-HH:MM or none")
    start = dt.time(int(match.group(1)), int(match.group(2)))
    end = dt.time(int(match.group(3)), int(match.group(4)))
    if end <= start:
        raise QuietHoursError(f"{where}: {text!r} must end after it starts")
    return start, end


def read_table(data: dict) -> tuple[dict[str, StateRule], dict[str, str]]:
    """(rules by state code, state names by code) from the YAML's data."""
    names = {str(code).upper(): str(name) for code, name in data["names"].items()}
    rules = {}
    for code, entry in (data.get("states") or {}).items():
        code = str(code).upper()
        where = f"quiet hours of {code}"
        if code not in names or not entry.get("source"):
            raise QuietHoursError(f"{where}: a state code of 'names' and a source are needed")
        every_day = _window(entry["hours"], where)
        days = [every_day] * 7
        for day, hours in (entry.get("days") or {}).items():
            if day not in DAYS:
                raise QuietHoursError(f"{where}: {day!r} is not one of {', '.join(DAYS)}")
            days[DAYS.index(day)] = _window(hours, f"{where} on {day}")
        rules[code] = StateRule(
            code, entry.get("name") or names[code], entry["source"], tuple(days)
        )
    return rules, names


@functools.cache
def table() -> tuple[dict[str, StateRule], dict[str, str]]:
    path = Path(__file__).with_name("quiet_hours.yaml")
    return read_table(yaml.safe_load(path.read_text(encoding="utf-8")))


def parse_state(raw: str | None) -> str | None:
    """A state as staff type it ("FL", "fl", "Florida", "florida "): its postal code; None
    for an empty value. Raises ValueError for anything else."""
    text = normalize(raw or "")
    if not text:
        return None
    _, names = table()
    if text.upper() in names:
        return text.upper()
    by_name = {normalize(name): code for code, name in names.items()}
    by_name["washington dc"] = by_name["district of columbia"] = "DC"
    if text in by_name:
        return by_name[text]
    raise ValueError(f"{raw.strip()!r} is not a US state: use its two letters, such as FL or TX")


AREA_CODES = Path(__file__).with_name("area_codes.yaml")


def geocoded_state(area_code: str) -> str | None:
    """The US state phonenumbers' geocoder places an area code in ("305": "FL"), or None
    (Canada, the Caribbean, not in use). Importing the geocoder puts about 100 MB of place
    names in memory, so the app reads its answers from area_codes.yaml instead, written by
    ``write_area_codes`` and checked against the geocoder by tests/test_quiet_hours.py."""
    from phonenumbers import geocoder

    try:
        number = phonenumbers.parse(f"+1{area_code}5550100")
    except phonenumbers.NumberParseException:
        return None
    place = geocoder.description_for_number(number, "en")
    if not place or phonenumbers.region_code_for_number(number) != "US":
        return None
    match = re.search(r",\s*([A-Z]{2})$", place)
    if match:
        return match.group(1)
    try:
        return parse_state(place)
    except ValueError:
        return None


def geocoded_area_codes() -> dict[str, str]:
    """Every US area code and its state, as the geocoder has them."""
    found = {}
    for number in range(200, 1000):
        state = geocoded_state(str(number))
        if state:
            found[str(number)] = state
    return found


def write_area_codes() -> int:
    """area_codes.yaml from the installed geocoder (after upgrading phonenumbers):
    ``python -c 'from bot.sms.quiet_hours import write_area_codes; write_area_codes()'``."""
    codes = geocoded_area_codes()
    AREA_CODES.write_text(
        "# US area codes and their states, from phonenumbers' geocoder (written by\n"
        "# bot.sms.quiet_hours.write_area_codes; tests/test_quiet_hours.py checks it against the\n"
        "# geocoder of the installed phonenumbers).\n"
        + "".join(f'"{code}": {state}\n' for code, state in sorted(codes.items())),
        encoding="utf-8",
    )
    return len(codes)


@functools.cache
def area_codes() -> dict[str, str]:
    return {str(k): str(v) for k, v in yaml.safe_load(AREA_CODES.read_text()).items()}


def area_code_state(phone: str) -> str | None:
    """The state a US number's area code belongs to ("+13055550123": "FL"), or None."""
    if not phone.startswith("+1") or len(phone) != 12:
        return None
    return area_codes().get(phone[2:5])


@dataclass(frozen=True)
class SendingHours:
    """The clinic's window, and the states' where they are stricter (empty when off)."""

    window: Window = (dt.time(8), dt.time(21))
    rules: dict[str, StateRule] = field(default_factory=dict)
    clinic_state: str | None = None

    @classmethod
    def from_config(cls, config) -> SendingHours:
        on = config.get("STATE_QUIET_HOURS", True)
        return cls(
            window=config["REMINDER_WINDOW"],
            rules=table()[0] if on else {},
            clinic_state=config.get("CLINIC_STATE"),
        )

    def state_of(self, phone: str, state: str | None) -> tuple[str | None, str]:
        """(the patient's state, where it was read from: "recorded", "area code", "clinic")."""
        if state:
            return state, "recorded"
        found = area_code_state(phone)
        if found:
            return found, "area code"
        return self.clinic_state, "clinic"

    def rule(self, phone: str, state: str | None) -> StateRule | None:
        if not self.rules:
            return None
        return self.rules.get(self.state_of(phone, state)[0] or "")

    def on(self, day: dt.date, phone: str, state: str | None) -> Window | None:
        """The hours texts may go out on a local date; None: not that day."""
        return self._on_weekday(day.weekday(), phone, state)

    def _on_weekday(self, weekday: int, phone: str, state: str | None) -> Window | None:
        start, end = self.window
        rule = self.rule(phone, state)
        if rule is None:
            return start, end
        hours = rule.days[weekday]
        if hours is None:
            return None
        start, end = max(start, hours[0]), min(end, hours[1])
        return (start, end) if start < end else None

    def open_at(self, now: dt.datetime, timezone: str, phone: str, state: str | None) -> bool:
        """Whether a text may go out now where the patient is."""
        local = now.astimezone(ZoneInfo(timezone))
        hours = self.on(local.date(), phone, state)
        if hours is None:
            return False
        return in_window(local.time(), hours)

    def usual(self, phone: str, state: str | None) -> Window:
        """The hours on most days (a weekday's), to check a chosen daily time against."""
        return self._on_weekday(0, phone, state) or self.window

    def describe(self, phone: str, state: str | None) -> str:
        """The hours in words, with the law they come from: for staff and the held note."""
        rule = self.rule(phone, state)
        start, end = self.usual(phone, state)
        text = f"{_clock(start)}-{_clock(end)}"
        if rule is None:
            return text
        days = [
            f"{DAYS[i].title()} {_clock(w[0])}-{_clock(w[1])}"
            if w
            else f"none on {DAYS[i].title()}"
            for i, w in enumerate(rule.days)
            if w != rule.days[0]
        ]
        extra = f" ({'; '.join(days)})" if days else ""
        return f"{text}{extra}, {rule.name} law: {rule.source}"


def in_window(t: dt.time, window: Window) -> bool:
    """Whether a time of day falls in a window ("24:00" ends at dt.time.max)."""
    start, end = window
    return start <= t and (t < end or end == dt.time.max)


def _clock(t: dt.time) -> str:
    if t == dt.time.max:
        return "24:00"
    return f"{t:%H:%M}"


def clinic_state(address: str) -> str | None:
    """The state of the clinic's postal address ("..., Ashburn, VA 20147": "VA")."""
    match = re.search(r",\s*([A-Z]{2})\s+\d{5}(-\d{4})?\s*$", address or "")
    if match and match.group(1) in table()[1]:
        return match.group(1)
    return None
