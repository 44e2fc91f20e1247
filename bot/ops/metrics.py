"""Metrics for Prometheus (served at ``GET /metrics`` by ``bot.web.metrics``), through its
client library.

Counted where they happen: texts in by the kind of reply, texts out by kind and result,
Twilio's errors by code, the webhook's latency, each reminder sweep's duration and counts.
Read from the database when scraped: the inbox's open threads and the clock's last sweep.

Under gunicorn every worker counts in files of ``PROMETHEUS_MULTIPROC_DIR`` (set by
gunicorn.conf.py; a clock on the same machine given the same folder adds its sweeps), and
a scrape adds them up (the library's multi-process mode). ``METRICS_TOKEN`` guards the
page (``Authorization: Bearer ...``); unset, the page does not exist (404).
"""

from __future__ import annotations

import functools
import os
import re

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from bot.models import ClockBeat, Thread, db

TEXTS_IN = Counter("bot_texts_in", "Texts received, by the kind of reply", ["kind"])
TEXTS_OUT = Counter(
    "bot_texts_out", "Texts sent by the app, by kind and result", ["kind", "result"]
)
TWILIO_ERRORS = Counter("bot_twilio_errors", "Twilio's error answers, by error code", ["code"])
UNDELIVERED = Counter(
    "bot_undelivered_texts", "Texts the carrier did not deliver (status callback), by code",
    ["code"],
)  # fmt: skip
WEBHOOK_SECONDS = Histogram(
    "bot_webhook_seconds",
    "Time to answer a text (the webhook, signature to TwiML)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SWEEP_SECONDS = Histogram(
    "bot_sweep_seconds",
    "Time a reminder sweep took",
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600),
)
SWEEP_REMINDERS = Counter(
    "bot_sweep_reminders", "Reminders of the sweeps, by what became of them", ["outcome"]
)
SWEEP_OUTCOMES = ("due", "sent", "skipped", "failed", "reconciled", "missed")
_KIND = re.compile(r"[a-z_]{1,40}")


@functools.lru_cache(maxsize=512)
def kind_label(kind: str | None) -> str:
    """A reply's kind as a label: its first part ("hours+insurance": "hours"), so the
    number of series stays that of the kinds the code knows."""
    first = (kind or "none").split("+", 1)[0]
    return first if _KIND.fullmatch(first) else "other"


@functools.cache
def _series(metric, *labels: str):
    """A metric's child for these labels, looked up once (``labels()`` costs a lock and a
    few microseconds on every webhook request otherwise)."""
    return metric.labels(*labels)


def text_in(kind: str | None) -> None:
    _series(TEXTS_IN, kind_label(kind)).inc()


def text_out(kind: str, result: str, count: int = 1) -> None:
    if count:
        _series(TEXTS_OUT, kind_label(kind), result).inc(count)


def twilio_error(code: int | str | None) -> None:
    _series(TWILIO_ERRORS, str(code) if code is not None else "none").inc()


def undelivered(code: int | None) -> None:
    _series(UNDELIVERED, str(code) if code is not None else "none").inc()


def sweep(report, seconds: float) -> None:
    SWEEP_SECONDS.observe(seconds)
    for outcome in SWEEP_OUTCOMES:
        count = getattr(report, outcome)
        if count:
            _series(SWEEP_REMINDERS, outcome).inc(count)


class FromDatabase:
    """Gauges read when scraped: the inbox's open threads, the clock's last sweep."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        with self.app.app_context():
            try:
                open_threads = db.session.scalar(
                    select(func.count()).select_from(Thread).where(Thread.status == "open")
                )
                last = db.session.scalar(select(ClockBeat.beat_at).where(ClockBeat.name == "clock"))
            except Exception:  # noqa: BLE001 - the counters are still worth serving
                db.session.rollback()
                return
            finally:
                db.session.remove()
        yield GaugeMetricFamily(
            "bot_inbox_open", "Threads in the inbox that need a person", value=open_threads
        )
        if last is not None:
            yield GaugeMetricFamily(
                "bot_clock_last_sweep_timestamp_seconds",
                "When the clock last swept (Unix time)",
                value=last.timestamp(),
            )


def registry(app) -> CollectorRegistry:
    """What a scrape serves: every process's counters (multi-process mode) or this one's,
    and the gauges read from the database."""
    served = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(served)
    else:
        for collector in (TEXTS_IN, TEXTS_OUT, TWILIO_ERRORS, WEBHOOK_SECONDS, SWEEP_SECONDS,
                          SWEEP_REMINDERS):  # fmt: skip
            served.register(collector)
    served.register(FromDatabase(app))
    return served
