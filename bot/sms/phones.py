"""Phone numbers and account ids in what the app writes down: masked.

``mask`` masks one number; ``scrub`` masks every phone number and Twilio account SID in a
text (a log line, an error shown to staff). ``mask_log_records`` makes every log record of
the process go through ``scrub``, its traceback included: an error that quotes a number
(a driver's message, a URL) never puts it in the log.
"""

from __future__ import annotations

import logging
import re
import traceback

# A number as E.164 (+12025550123) or as people write one in the US ((202) 555-0123,
# 202.555.0123, 1-202-555-0123); not digits inside a longer word or id (SM0f3c...).
PHONE = re.compile(r"(?<![\w+])(\+\d{8,15}|(1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4})(?![\w])")
ACCOUNT_SID = re.compile(r"\bAC[0-9a-fA-F]{32}\b")
URL = re.compile(r"https?://\S+")


def mask(number: str | None) -> str:
    """Keep the country code and the last two digits: '+12025550123' -> '+1*******23'."""
    if not number:
        return "-"
    digits = [i for i, ch in enumerate(number) if ch.isdigit()]
    keep = set(digits[-2:]) | (set(digits[:1]) if number.startswith("+") else set())
    return "".join(ch if (i in keep or not ch.isdigit()) else "*" for i, ch in enumerate(number))


def scrub(text: str) -> str:
    """Every phone number masked, every account SID shortened to its last four."""
    text = PHONE.sub(lambda m: mask(m.group(0)), text)
    return ACCOUNT_SID.sub(lambda m: "AC..." + m.group(0)[-4:], text)


def staff_facing(error: str | None) -> str:
    """An error to show staff: no addresses (Twilio's URL names the account), no ids."""
    return scrub(URL.sub("(Twilio)", error or "")).strip() or "no answer from Twilio"


def mask_log_records() -> None:
    """From now on, every log record's message and traceback is scrubbed (idempotent)."""
    make = logging.getLogRecordFactory()
    if getattr(make, "scrubs", False):
        return

    def scrubbed(*args, **kwargs) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logging's own business
            return record
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        return record

    scrubbed.scrubs = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(scrubbed)
