"""One reading of a patient's text, which every step decides from, in this order:
compliance (a carriers' keyword or a sentence revoking consent, or a stop that may mean
only the reminders for a while), safety (a red flag, in the reply logic's reading), an
enrolled patient's command with its slots, the language asked for, then the question's
intents and language (``bot.replies``).

Pure: text in, reading out. The text is normalised once (``bot.text.normalize`` keeps the
last texts' forms); the reply logic's own reading of the same text is kept by the replier
for both languages it writes in.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bot.reminders.commands import Command, read_command, read_language
from bot.replies.program import own_program
from bot.replies.reading import MAX_READ_CHARS
from bot.sms.compliance import Keyword, classify, unclear
from bot.sms.questions import asks
from bot.text import normalize

# What a patient texts for the rest of an answer sent in parts ("Text MORE for the rest").
MORE = frozenset(
    ["more", "mas", "more please", "more pls", "mas por favor", "mas porfa", "the rest",
     "el resto", "rest", "continue", "continua", "next", "siguiente", "y mas", "send more",
     "ver mas", "ver el resto", "more info"]
)  # fmt: skip


@dataclass(frozen=True)
class Reading:
    body: str
    keyword: tuple[Keyword, str] | None  # STOP, START, HELP, or a revoking sentence
    unclear_stop: bool  # "stop the reminders for a week": ask, or pause and say how to STOP
    command: Command | None  # for an enrolled patient: DONE 3, 7pm, pause until Monday...
    language_asked: str | None  # ESPAÑOL, ENGLISH: the number's language from now on
    program: tuple[str, tuple] | None  # about the patient's own reminder, routine, week
    # It asks how things stand, by its words ("am I on pause", "why was I paused"): then a
    # command's words in it are not carried out. Told only where a command or program is.
    asks: bool = False
    more: bool = False  # MORE: the rest of an answer sent in parts


# Texts recur ("DONE", "STOP", "yes"): each is read once while it is among the last 256
# (the reading of "DONE" alone cost 160,000 instructions, a tenth of its webhook request).
@functools.lru_cache(maxsize=256)
def read(body: str, opt_out_type: str | None = None) -> Reading:
    """The reading of one text (``opt_out_type``: Twilio's Advanced Opt-Out field), frozen,
    so the same reading serves every copy of the text."""
    keyword = classify(body, opt_out_type)
    if keyword:
        return Reading(body, keyword, False, None, None, None)
    normalized = normalize(body[:MAX_READ_CHARS])
    command, program = read_command(body), own_program(normalized, body)
    return Reading(
        body=body,
        keyword=None,
        unclear_stop=unclear(body),
        command=command,
        language_asked=read_language(body),
        program=program,
        asks=bool(command or program) and asks(normalized, body),
        more=normalized in MORE,
    )
