"""One reminder sweep over many patients against the Twilio stand-in, beside its floor.

Enrolls N subscribed patients (default 10,000) all due at the same minute, starts the
stand-in (tests/fake_twilio.py) as its own process with 100 ms latency per request and a
cap of 100 requests in flight (429 beyond, like Twilio's API concurrency limit), and times
one ``send_due`` sweep. The floor is N x 0.1 s / 100. It then checks that every patient
got exactly one reminder at the stand-in, and reports the sweep's database statements
(counted with SQLAlchemy events) and the sweep process's peak memory.

    .venv/bin/python benchmarks/reminders.py [--patients 10000]
    .venv/bin/python benchmarks/reminders.py --crash [--patients 2000]

``--crash`` runs ``flask reminders send-due`` in a child process, kills it with SIGKILL
once about a third of the reminders have reached the stand-in, runs it again, and checks
that every patient has exactly one reminder at the stand-in.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCOUNT_SID = "AC" + "2" * 32
AUTH_TOKEN = "bench-twilio-token"
LATENCY, CAP = 0.1, 100


def start_stand_in() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_twilio", "--latency", str(LATENCY),
         "--max-in-flight", str(CAP), "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    return process, process.stdout.readline().strip()


def stand_in_stats(base_url: str) -> dict:
    with urllib.request.urlopen(f"{base_url}/_stats", timeout=30) as response:  # noqa: S310
        return json.load(response)


def environment(database_url: str, base_url: str) -> dict:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "b" * 40,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+12025550199",
        "TWILIO_API_BASE_URL": base_url,
        "SEND_CONCURRENCY": str(CAP),
        "SEND_RATE_PER_SECOND": "10000",
        "REMINDER_WINDOW": "00:00-23:59",
        "LOG_LEVEL": "WARNING",
    }


def prepare(database_url: str, patients: int) -> None:
    """Empty the benchmark database and enroll the patients, all due at local midnight."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
            ):
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "b" * 40}
    subprocess.run([sys.executable, "-m", "flask", "--app", "bot", "db", "upgrade"], env=env,
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    from bot.config import database_url as normalise
    from bot.models import ConsentEvent, Patient

    engine = create_engine(normalise(database_url))
    enrolled = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        for table in ("reminder_deliveries", "consent_events", "messages", "patients"):
            # TRUNCATE on PostgreSQL: deleted rows would linger for the sweep to step over.
            empty = "TRUNCATE {} CASCADE" if postgres else "DELETE FROM {}"
            conn.execute(text(empty.format(table)))
        for start in range(0, patients, 1000):  # in chunks: the peak memory is the sweep's
            rows = [
                {"name": f"Patient {i}", "phone": f"+1202{5550000 + i:07d}", "language": "en",
                 "routine": ["cat-camel", "pelvic-tilt", "bird-dog"], "reminder_time": dt.time(0),
                 "timezone": "America/New_York", "paused": False, "number_invalid": False,
                 "enrolled_at": enrolled, "enrolled_by": "benchmark", "removed_at": None}
                for i in range(start, min(start + 1000, patients))
            ]  # fmt: skip
            conn.execute(insert(Patient.__table__), rows)
            conn.execute(
                insert(ConsentEvent.__table__),
                [{"phone": r["phone"], "action": "opt_in", "keyword": "yes", "source": "sms",
                  "recorded_by": None, "message_sid": None,
                  "created_at": enrolled + dt.timedelta(minutes=1)} for r in rows],
            )  # fmt: skip
    if postgres:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # as autovacuum would after a load this size
    engine.dispose()


def timed_sweep(database_url: str, base_url: str) -> tuple[float, object, int, int]:
    os.environ.update(environment(database_url, base_url))
    from bot import create_app
    from bot.models import db
    from bot.reminders import ReminderSettings, send_due, sweep_session

    app = create_app()
    statements = 0

    def count(*_args):
        nonlocal statements
        statements += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        with sweep_session(db.engine) as session:
            started = time.perf_counter()
            report = send_due(
                session,
                app.extensions["sender"],
                app.extensions["content"],
                ReminderSettings.from_config(app.config),
                dt.datetime.now(dt.UTC),
            )
            elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return elapsed, report, statements, peak_kib


def crash(database_url: str, base_url: str, patients: int) -> None:
    env = {**os.environ, **environment(database_url, base_url), "REMINDER_CLAIM_TIMEOUT": "0"}
    command = [sys.executable, "-m", "flask", "--app", "bot", "reminders", "send-due"]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    while stand_in_stats(base_url)["messages"] < patients // 3:
        if first.poll() is not None:
            raise SystemExit("the sweep ended before it could be killed; use more patients")
        time.sleep(0.05)  # polling the stand-in; the kill lands mid-run, wherever that is
    first.send_signal(signal.SIGKILL)
    first.wait()
    at_kill = stand_in_stats(base_url)["messages"]
    started = time.perf_counter()
    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    rerun_seconds = time.perf_counter() - started
    stats = stand_in_stats(base_url)
    print(f"killed with SIGKILL after {at_kill} of {patients} reminders reached the stand-in")
    print(f"rerun ({rerun_seconds:.1f} s, the process's start included): {rerun.stdout.strip()}")
    print(f"stand-in: {stats['messages']} messages to {stats['recipients']} distinct numbers")
    if rerun.returncode != 0 or stats["messages"] != patients or stats["recipients"] != patients:
        raise SystemExit(f"FAIL: not exactly one reminder each\n{rerun.stderr}")
    print("every patient has exactly one reminder")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=None)
    parser.add_argument("--crash", action="store_true")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench"
        ),
    )
    args = parser.parse_args()
    patients = args.patients or (2000 if args.crash else 10_000)
    prepare(args.database_url, patients)
    stand_in, base_url = start_stand_in()
    try:
        if args.crash:
            crash(args.database_url, base_url, patients)
            return
        elapsed, report, statements, peak_kib = timed_sweep(args.database_url, base_url)
        stats = stand_in_stats(base_url)
    finally:
        stand_in.terminate()
        stand_in.wait(10)
    floor = patients * LATENCY / CAP
    backend = make_url(args.database_url).get_backend_name()
    print(f"machine: {os.cpu_count()} CPUs; database {backend}; "
          f"stand-in {LATENCY * 1000:.0f} ms per request, {CAP} in flight at most")  # fmt: skip
    print(f"floor: {patients} x {LATENCY} s / {CAP} = {floor:.1f} s")
    print(f"sweep: {elapsed:.1f} s ({floor / elapsed:.0%} of the floor's rate); {report.line()}")
    print(f"stand-in: {stats['messages']} messages to {stats['recipients']} numbers, "
          f"{stats['refused']} refused with 429, "
          f"at most {stats['max_in_flight_seen']} in flight")  # fmt: skip
    print(f"database statements in the sweep: {statements} "
          f"({statements / patients:.3f} per patient); "
          f"peak memory of the sweep process: {peak_kib / 1024:.0f} MiB")  # fmt: skip
    if stats["messages"] != patients or stats["recipients"] != patients:
        raise SystemExit("FAIL: not exactly one reminder per patient")


if __name__ == "__main__":
    main()
