"""Writing the answer: every sentence from the content's catalogue (``Content.say``), in the
language asked for, from what the text asks (``bot.replies.intents``) and what it named
(``bot.replies.reading``): the exercises' steps, hours, the address, insurance, the menu...
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.content import Area, Content, Exercise, Plan, Span
from bot.replies.names import plan_title
from bot.replies.reading import Reader, Reading, asks_now, times_asked
from bot.replies.safety import PAST_EVENT
from bot.replies.words import ACCIDENT_WORDS, NERVE_SIGNS, PART_OF_DAY
from bot.sms.segments import in_parts

MAX_REPLY_CHARS = 1600  # Twilio's limit for one message
# An exercise's steps (3 to 6 segments whole) are texted in parts of at most this many
# segments, each but the last ending "Text MORE for the rest"; MORE gives the next.
PART_SEGMENTS = 2
# The parts of the day, as the catalogue says them.
PART_NAMES = {"morning": "morning", "afternoon": "afternoon", "evening": "evening",
              "night": "evening"}  # fmt: skip


# Back pain with weight loss, night pain or cancer: a doctor today, or 911 if it is severe
# (the clinical red flags of malignancy call for a prompt check first).
WARNING_SIGN = "warning_sign"


@dataclass(frozen=True)
class Reply:
    kind: str  # what the reply answers: "hours", "exercise", "emergency", ... joined by "+"
    body: str
    language: str = "en"  # what it is written in


class Writer:
    """The clinic's answers in either language, built once from the content."""

    def __init__(self, content: Content, timezone: ZoneInfo, reader: Reader):
        self.content = content
        self.timezone = timezone
        self.reader = reader
        self.phone = content.clinic.phone
        self.say = content.say  # every sentence comes from the content's catalogue
        # The answer while staff have the thread, said once (the webhook sends it often).
        self.held = {language: self.say("held", language) for language in ("en", "es")}
        self.weekdays = content.calendar["days"]  # language -> Monday..Sunday
        self.weekdays_short = content.calendar["days_short"]
        self._parts: dict[tuple[str, str], tuple[str, ...]] = {}

    def write(self, asked: list[str], reading: Reading, now: dt.datetime, language: str) -> Reply:
        """The answers to the questions ``asked``, joined, within Twilio's 1,600 characters."""
        if asked == ["thanks"]:
            return Reply("thanks", self.thanks(language))
        if asked == ["unknown"]:
            return Reply("unknown", self.unknown(language))
        # The first questions asked, at most three: every one a reply to pay for, and
        # Twilio refuses a reply over 1,600 characters outright.
        parts = [self.section(intent, reading, now, language) for intent in asked]
        while len("\n\n".join(parts)) > MAX_REPLY_CHARS and len(parts) > 1:
            parts.pop()
            asked.pop()
        return Reply("+".join(asked), "\n\n".join(parts))

    def emergency(self, flag: str, language: str) -> Reply:
        """The answer to a red flag (its key in the catalogue, or "crisis")."""
        if flag == "crisis":
            return Reply("emergency", self.say("crisis", language), language)
        if flag == WARNING_SIGN:  # a doctor today first, 911 if severe
            return Reply(WARNING_SIGN, self.say(WARNING_SIGN, language), language)
        said = self.say("emergency", language, what=self.say(flag, language))
        return Reply("emergency", said, language)

    def stop_exercise(self, exercises: list[Exercise], language: str) -> Reply:
        which = (
            self.say("the_exercise", language, exercise=exercises[0].in_language(language).name)
            if exercises
            else self.say("that_exercise", language)
        )
        return Reply("pain", self.say("exercise_pain", language, which=which))

    def section(self, intent: str, reading: Reading, now: dt.datetime, language: str = "en") -> str:
        if intent == "exercise":  # the first part of its steps; of a second, its name
            first, *others = reading.exercises[:2]
            said = self.exercise_parts(first.id, language)[0]
            for other in others:
                name = other.in_language(language).name.upper()
                said += "\n" + self.say("exercise_other", language, name=name)
            return said
        if intent == "area":
            return self.area_text(
                [area for area, _ in reading.areas], language
            ) + self.nerve_caveat(reading, language)
        if intent == "hours":
            return self.hours_text(reading, now, language)
        if intent == "location":
            return self.location(language)
        if intent == "insurance":
            return self.insurance_text(reading, language)
        if intent == "list":
            return self.exercise_list(language)
        if intent == "other_body":
            return self.say("other_body", language, part=reading.other_body) + self.nerve_caveat(
                reading, language
            )
        if intent == "about":
            return self.help_text(language == "es")
        # The answers that are one message of the catalogue.
        return self.say(SAID_AS.get(intent, "menu"), language)

    # -- texts -----------------------------------------------------------------------------

    def menu(self, language: str = "en") -> str:
        return self.say("menu", language)

    def unknown(self, language: str = "en") -> str:
        return self.say("unknown", language)

    def thanks(self, language: str = "en") -> str:
        return self.say("thanks", language)

    def feeling_better(self, language: str = "en") -> str:
        return self.say("feeling_better", language)

    def done(self, language: str = "en") -> str:
        return self.say("done", language)

    def location(self, language: str = "en") -> str:
        c = self.content.clinic
        directions = (c.directions_es or c.directions) if language == "es" else c.directions
        return self.say("location", language, address=c.address, directions=directions)

    def exercise_text(self, exercise: Exercise, language: str = "en") -> str:
        said = exercise.in_language(language)
        title = self.say(
            "exercise_title", language, name=said.name, purpose=_lower_first(said.purpose),
            english=exercise.name,
        )  # fmt: skip
        lines = [title] + [f"{i}. {step}" for i, step in enumerate(said.steps, start=1)]
        if said.tips:
            lines.append(self.say("exercise_tips", language, tips=" ".join(said.tips)))
        lines.append(self.say("exercise_stop", language))
        return "\n".join(lines)

    def exercise_parts(self, exercise_id: str, language: str) -> tuple[str, ...]:
        """The exercise's steps in parts of at most ``PART_SEGMENTS`` each, every part but
        the last ending with how to get the next (MORE); what to do if it hurts in the
        first, under the title. The lines of ``exercise_text``, none left out."""
        key = (exercise_id, language)
        if key not in self._parts:
            lines = self.exercise_text(self.content.exercise(exercise_id), language).split("\n")
            lines.insert(1, lines.pop())  # the stop line under the title
            self._parts[key] = in_parts(lines, self.say("more_hint", language), PART_SEGMENTS)
        return self._parts[key]

    def continuation(self, sent: str) -> tuple[str, str] | None:
        """The part that follows ``sent`` (an answer that began with a part of an exercise's
        steps, as texted), and its language; None when ``sent`` began with no such part, or
        with the last."""
        for exercise in self.content.exercises:
            for language in ("en", "es"):
                parts = self.exercise_parts(exercise.id, language)
                for i, part in enumerate(parts[:-1]):
                    if sent.startswith(part):
                        return parts[i + 1], language
        return None

    def exercise_list(self, language: str = "en") -> str:
        # In Spanish too, only the names in the patient's language (within 3 segments): the
        # steps' title gives the handout's English name.
        names = "\n".join(
            f"{i} {e.in_language(language).name}" for i, e in enumerate(self.content.exercises, 1)
        )
        return self.say("exercise_list", language, names=names)

    def routine_text(self, routine: list[str], language: str) -> str | None:
        """A patient's own routine, from their record; None when it names no exercise."""
        names = [
            e.in_language(language).name
            for x in routine
            for e in self.content.exercises
            if e.id == x
        ]
        if not names:
            return None
        return self.say("routine", language, routine=", ".join(names))

    def nerve_caveat(self, reading: Reading, language: str = "en") -> str:
        """For a text that names numbness or tingling ("tingling down my leg")."""
        return " " + self.say("nerve", language) if NERVE_SIGNS & set(reading.tokens) else ""

    def joined(self, names, language: str = "en") -> str:
        """Names as a list is said: "Aetna and Cigna"."""
        return f" {self.say('and', language)} ".join(names)

    def area_text(self, areas: list[Area], language: str = "en") -> str:
        chosen: list[Exercise] = []
        for area in areas:
            chosen += [e for e in area.exercises if e not in chosen]
        return self.say(
            "area",
            language,
            areas=self.joined((a.name_in(language) for a in areas), language),
            exercises=", ".join(e.in_language(language).name for e in chosen),
        )

    def insurance_text(self, reading: Reading, language: str = "en") -> str:
        unknown = [plan_title(name) for name in reading.other_plans]
        if not reading.plans and not unknown:
            guess = self.reader.unknown_plan(reading.tokens)
            if guess:
                unknown.append(guess)
        parts = self.insurance_answer(reading.plans, unknown, language)
        recent = not PAST_EVENT.search(" ".join(reading.tokens))
        if ACCIDENT_WORDS & set(reading.tokens) and recent:
            parts.append(self.say("accident", language))  # "I was in a car accident"
        return " ".join(parts)

    def insurance_answer(self, accepted: list[Plan], others: list[str], language: str) -> list:
        """Yes for each accepted plan named, not on the list for the others, the list when
        a plan is not on it or none was named. Never yes for a plan not accepted."""
        parts = []
        if accepted:
            names = self.joined(dict.fromkeys(p.name for p in accepted), language)
            parts.append(self.say("insurance_yes", language, plans=names))
        if others:
            key = "insurance_not_listed_many" if len(set(others)) > 1 else "insurance_not_listed"
            names = self.joined(dict.fromkeys(others), language)
            parts.append(self.say(key, language, plans=names))
        listed = ", ".join(p.name for p in self.content.insurance)
        if accepted and not others:
            parts.append(self.say("insurance_coverage", language))
        elif not parts:
            parts.append(self.say("insurance_list", language, plans=listed))
        else:
            parts.append(self.say("insurance_accepted", language, plans=listed))
        return parts

    def hours_text(self, reading: Reading, now: dt.datetime, language: str = "en") -> str:
        local = now.astimezone(self.timezone)
        today = local.weekday()
        days = reading.days
        if "now" in days or (not days and asks_now(reading.tokens)):
            return self.open_now(local, language)
        at = times_asked(" ".join(reading.tokens))  # "are you open monday at 1pm"
        if at and not days:
            days = ["today"]
        parts = reading.parts_of_day
        lines = []
        asked_days = []
        for day in days:
            if day == "weekend":
                lines += [
                    self.day_line(5, parts, at=at, language=language),
                    self.day_line(6, parts, at=at, language=language),
                ]
                asked_days += [5, 6]
            elif day == "today":
                lines.append(self.day_line(today, parts, "today", at, language))
                asked_days.append(today)
            elif day == "tomorrow":
                lines.append(self.day_line((today + 1) % 7, parts, "tomorrow", at, language))
                asked_days.append((today + 1) % 7)
            elif isinstance(day, int):
                lines.append(self.day_line(day, parts, at=at, language=language))
                asked_days.append(day)
        if not lines:
            return self.week_hours(language)
        if any(not self.content.hours[d] for d in asked_days):
            lines.append(self.week_hours(language))
        else:
            lines.append(self.say("call", language))
        return "\n".join(lines)

    def week_hours(self, language: str = "en") -> str:
        short = self.weekdays_short[language]
        hours = self.content.hours
        rows = [f"{short[d]} {self.spans(hours[d], language)}" for d in range(7) if hours[d]]
        closed = [short[d] for d in range(7) if not hours[d]]
        if closed:
            glue = " & " if language == "en" else f" {self.say('and', language)} "
            rows.append(self.say("hours_closed_days", language, days=glue.join(closed)))
        return self.say("hours_week", language, rows="\n".join(rows))

    def spans(self, spans: tuple[Span, ...], language: str = "en") -> str:
        text = spans_text(spans)
        return text if language == "en" else text.replace(" & ", f" {self.say('and', language)} ")

    def day_line(
        self,
        day: int,
        parts: list[str],
        relative: str = "",
        at: list[dt.time] = (),
        language: str = "en",
    ) -> str:
        """One day's hours: a day of the week, or ``relative`` ("today", "tomorrow")."""
        spans = self.content.hours[day]
        if not spans:
            if relative:
                return self.say("hours_closed_relative", language, day=self.say(relative, language))
            return self.say("hours_closed_on", language, day=self.weekdays[language][day])
        hours = self.spans(spans, language)
        if relative:
            label = self.say(relative, language).capitalize()
            line = [self.say("hours_day_relative", language, day=label, spans=hours)]
        else:
            line = [self.say("hours_day", language, day=self.weekdays[language][day], spans=hours)]
        for part in parts:
            lo, hi = PART_OF_DAY[part]
            inside = [
                Span(max(s.start, dt.time(lo)), min(s.end, dt.time(hi)) if hi < 24 else s.end)
                for s in spans
                if s.start.hour < hi and _hours(s.end) > lo
            ]
            named = self.say(PART_NAMES[part], language)
            if inside:
                spans_inside = self.spans(tuple(inside), language)
                line.append(self.say("hours_part_open", language, part=named, spans=spans_inside))
            else:
                line.append(self.say("hours_part_closed", language, part=named))
        for moment in at:
            open_then = any(s.start <= moment < s.end for s in spans)
            key = "hours_at_open" if open_then else "hours_at_closed"
            line.append(self.say(key, language, time=_clock(moment)))
        return " ".join(line)

    def open_now(self, local: dt.datetime, language: str = "en") -> str:
        moment = local.time()
        for span in self.content.hours[local.weekday()]:
            if span.start <= moment < span.end:
                return self.say("open_now", language, time=_clock(span.end))
        for ahead in range(8):
            day = (local.weekday() + ahead) % 7
            for span in self.content.hours[day]:
                if ahead == 0 and span.start <= moment:
                    continue
                when = (
                    self.say("today", language) if ahead == 0
                    else self.say("tomorrow", language) if ahead == 1
                    else self.say("on_day", language, day=self.weekdays[language][day])
                )  # fmt: skip
                return self.say("closed_now_until", language, when=when, time=_clock(span.start))
        return self.say("closed_now", language)

    def unavailable_text(self, language: str = "en") -> str:
        """When the database cannot take a text: the patient is told to call."""
        return self.say("unavailable", language)

    # -- compliance texts (the keywords are read in bot.sms.compliance) ------------------------

    def help_text(self, spanish: bool = False) -> str:
        return self.say("help", "es" if spanish else "en")

    def opt_out_text(self, spanish: bool = False) -> str:
        return self.say("opt_out", "es" if spanish else "en")

    def opt_in_text(self, spanish: bool = False) -> str:
        return self.say("opt_in", "es" if spanish else "en")


# The intents answered with one message of the catalogue, by its key.
SAID_AS = {
    "appointment": "appointment", "cost": "cost", "dosage": "dosage",
    "ask_clinic": "ask_provider", "enroll": "enroll", "media": "media",
    "reminders": "reminders", "holiday": "holiday", "spanish": "spanish_spoken",
    "thanks": "thanks", "pain_general": "pain_general", "phone": "phone_person",
    "forms": "forms",
}  # fmt: skip


def _hours(t: dt.time) -> float:
    return t.hour + t.minute / 60


def _clock(t: dt.time) -> str:
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    minutes = f":{t.minute:02d}" if t.minute else ""
    return f"{hour}{minutes}{suffix}"


def spans_text(spans: tuple[Span, ...]) -> str:
    return " & ".join(f"{_clock(s.start)}-{_clock(s.end)}" for s in spans)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
