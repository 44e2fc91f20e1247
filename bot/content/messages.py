"""The message catalogue's keys: every sentence the app texts a patient is one of these,
written in the content file under ``texts`` in every language (``LANGUAGES``).

Each key lists the placeholders the code fills in for it; beyond those, every message may
use ``{clinic}`` (the clinic's name), ``{phone}`` (its number) and ``{spanish}`` (its
"Se habla Espanol" line). Some messages must also contain words the law or the carriers
require (``MARKERS``). The content loader refuses a file with a key missing, a language
missing, a placeholder the code does not fill, or a character outside plain SMS text,
naming the key.
"""

from __future__ import annotations

LANGUAGES = ("en", "es")
EVERYWHERE = frozenset({"clinic", "phone", "spanish"})

MESSAGES: dict[str, frozenset[str]] = {
    key: frozenset(names.split())
    for key, names in {
        # Texts the app sends first.
        "invitation": "time",
        "reminder": "name routine",
        "more": "count",
        # STOP, START, HELP; the database away.
        "help": "",
        "opt_out": "",
        "opt_in": "",
        "unavailable": "",
        # Safety.
        "emergency": "what",
        # The red flags the emergency answer names as {what}.
        "flag_bladder": "",
        "flag_groin": "",
        "flag_chest": "",
        "flag_fainting": "",
        "flag_legs": "",
        "flag_injury": "",
        "flag_fever": "",
        "flag_severe": "",
        "flag_stroke": "",
        "warning_sign": "",
        "flag_other": "",
        "crisis": "",
        "exercise_pain": "which",
        "the_exercise": "exercise",
        "that_exercise": "",
        "pain_general": "",
        "nerve": "",
        "accident": "",
        # Small talk and the menu.
        "menu": "",
        "unknown": "",
        "thanks": "",
        "feeling_better": "",
        "done": "",
        "phone_person": "",
        "forms": "",
        "spanish_spoken": "",
        # Exercises.
        "exercise_title": "name purpose english",
        "exercise_tips": "tips",
        "exercise_stop": "",
        "exercise_other": "name",
        "exercise_list": "names",  # one a line: its number, its name (and its English name)
        "routine": "routine",
        "area": "areas exercises",
        "other_body": "part",
        "dosage": "",
        "ask_provider": "",
        "media": "",
        # The clinic.
        "location": "address directions",
        "appointment": "",
        "cost": "",
        "enroll": "",
        "reminders": "",
        "holiday": "",
        # Insurance.
        "insurance_yes": "plans",
        "insurance_not_listed": "plans",
        "insurance_not_listed_many": "plans",
        "insurance_coverage": "",
        "insurance_list": "plans",
        "insurance_accepted": "plans",
        # Hours.
        "hours_week": "rows",
        "hours_closed_days": "days",
        "hours_day": "day spans",
        "hours_day_relative": "day spans",
        "hours_closed_on": "day",
        "hours_closed_relative": "day",
        "hours_part_open": "part spans",
        "hours_part_closed": "part",
        "hours_at_open": "time",
        "hours_at_closed": "time",
        "open_now": "time",
        "closed_now_until": "when time",
        "closed_now": "",
        "call": "",
        # A patient's commands by text (bot.reminders.checkins).
        "done_again": "",
        "done_great": "",
        "done_streak": "days",
        "done_pain": "pain",
        "pain_pause": "",
        "pain_high": "pain",
        "window": "start end",
        "later_not_sent": "time",
        "later_again": "time",
        "later_too_late": "window",
        "later": "time",
        "time_refused": "time window",
        "time_changed": "time",
        "paused": "date",
        # "stop the reminders for a week": how to stop all texts; the question when unclear.
        "stop_all": "",
        # A patient's own program, from their record.
        "my_reminder": "time",
        "my_reminder_paused": "time date",
        "my_reminder_held": "",
        "my_reminder_pain": "",
        "my_routine_some": "routine",
        "my_week": "count",
        "my_week_streak": "days",
        "my_week_pain": "pain",
        "more_hint": "",
        "stop_which": "",
        "resume_refused": "",
        "resumed": "time",
        "date": "weekday day month",
        "language_set": "",
        # While staff have the conversation (bot.inbox.threads).
        "held": "",
        # Words the answers are put together with.
        "and": "",
        "today": "",
        "tomorrow": "",
        "on_day": "day",
        "morning": "",
        "afternoon": "",
        "evening": "",
    }.items()
}

# Words a message must contain: what carriers require of a consent request and of every
# reminder.
MARKERS: dict[str, tuple[str, ...]] = {
    "invitation": ("{clinic}", "{time}", "STOP", "HELP"),
    "reminder": ("{name}", "{routine}", "DONE", "STOP"),
}

# The answers a text the rules do not read may get from its closeness to their examples
# (``examples`` under the key in the content file): by key, the intent answered. Never an
# emergency, an insurance "yes" (the insurance answer to a text naming no plan is the
# list) or an opt-out: those are the rules' alone.
SECOND_CHANCE: dict[str, str] = {
    "location": "location", "hours_week": "hours", "insurance_list": "insurance",
    "exercise_list": "list", "phone_person": "phone", "appointment": "appointment",
    "forms": "forms",
    "cost": "cost", "dosage": "dosage", "media": "media", "enroll": "enroll",
    "reminders": "reminders", "holiday": "holiday", "menu": "greeting",
}  # fmt: skip
