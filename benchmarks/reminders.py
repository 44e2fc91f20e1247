"""One reminder sweep over many patients against the Twilio stand-in, beside its floor.

Enrolls N subscribed patients (default 10,000) all due at the same minute, starts the
stand-in (tests/fake_twilio.py) as its own process with 100 ms latency per request and a
cap of 100 requests in flight (429 beyond, like Twilio's API concurrency limit), and times
one ``send_due`` sweep. The floor is N x 0.1 s / 100. It then checks that every patient
got exactly one reminder at the stand-in, and reports the sweep's database statements
(counted with SQLAlchemy events) and the sweep process's peak memory.

    .venv/bin/python benchmarks/reminders.py [--patients 10000]
    .venv/bin/python benchmarks/reminders.py --clocks 2 --patients 50000
    .venv/bin/python benchmarks/reminders.py --crash [--patients 2000]

``--clocks K`` starts K sweep processes (what K clock processes run each minute) and lets
them go at the same moment; they share the stand-in's 100 requests in flight
(``SEND_CONCURRENCY`` = 100 / K each) and the work (``FOR UPDATE SKIP LOCKED``). It reports
the time from the start to the last one's end, each one's share, statements and peak
memory, and checks that every patient got exactly one reminder.

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

from database import truncate
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


def environment(database_url: str, base_url: str, concurrency: int = CAP) -> dict:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "b" * 40,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+12025550199",
        "TWILIO_API_BASE_URL": base_url,
        "SEND_CONCURRENCY": str(concurrency),
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
            if postgres:
                truncate(conn, table)
            else:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - the loop's own names
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


def timed_sweep(
    database_url: str, base_url: str, concurrency: int = CAP, ready=None
) -> tuple[float, object, int, int]:
    """One sweep in this process: (seconds, report, statements, peak KiB). ``ready`` is
    called once the app is built, before the sweep starts (to wait for a start signal)."""
    os.environ.update(environment(database_url, base_url, concurrency))
    from bot import create_app
    from bot.models import db
    from bot.reminders.sweep import ReminderSettings, send_due, sweep_session

    app = create_app()
    statements = 0

    def count(*_args):
        nonlocal statements
        statements += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        if ready:
            ready()
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


def one_each(stats: dict, patients: int) -> None:
    """What the stand-in saw; fails unless every patient got exactly one reminder."""
    print(f"stand-in: {stats['messages']} messages to {stats['recipients']} numbers, "
          f"{stats['refused']} refused with 429, "
          f"at most {stats['max_in_flight_seen']} in flight")  # fmt: skip
    if stats["messages"] != patients or stats["recipients"] != patients:
        raise SystemExit("FAIL: not exactly one reminder per patient")


def sweep_worker(database_url: str, base_url: str, concurrency: int) -> None:
    """A clock's sweep in a process of its own: says "ready", waits for "go" on its
    standard input, sweeps, and prints what it did as one JSON line."""

    def wait_for_go() -> None:
        print("ready", flush=True)
        sys.stdin.readline()

    elapsed, report, statements, peak_kib = timed_sweep(
        database_url, base_url, concurrency, wait_for_go
    )
    print(json.dumps({"seconds": elapsed, "sent": report.sent, "due": report.due,
                      "failed": report.failed, "statements": statements,
                      "peak_kib": peak_kib}), flush=True)  # fmt: skip


def clocks(database_url: str, base_url: str, patients: int, count: int) -> None:
    """``count`` sweep processes started together, sharing the stand-in's limit."""
    command = [sys.executable, __file__, "--sweep-worker", "--database-url", database_url,
               "--base-url", base_url, "--concurrency", str(CAP // count)]  # fmt: skip
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )  # fmt: skip
        for _ in range(count)
    ]
    for worker in workers:
        if worker.stdout.readline().strip() != "ready":
            raise SystemExit("a sweep process did not start")
    started = time.perf_counter()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = []
    for worker in workers:
        results.append(json.loads(worker.stdout.readline()))
        worker.wait(60)
    wall = time.perf_counter() - started
    stats = stand_in_stats(base_url)
    floor = patients * LATENCY / CAP
    backend = make_url(database_url).get_backend_name()
    print(f"machine: {os.cpu_count()} CPUs; database {backend}; "
          f"stand-in {LATENCY * 1000:.0f} ms per request, {CAP} in flight at most")  # fmt: skip
    print(f"floor: {patients} x {LATENCY} s / {CAP} = {floor:.1f} s")
    print(f"{count} clocks started together: {wall:.1f} s to the last one's end "
          f"({floor / wall:.0%} of the floor's rate)")  # fmt: skip
    for number, r in enumerate(results, start=1):
        print(f"  clock {number}: sent {r['sent']} in {r['seconds']:.1f} s; "
              f"{r['statements']} statements ({r['statements'] / max(r['sent'], 1):.3f} per "
              f"reminder it sent); peak memory {r['peak_kib'] / 1024:.0f} MiB")  # fmt: skip
    one_each(stats, patients)
    if sum(r["sent"] for r in results) != patients:
        raise SystemExit("FAIL: the clocks' reports do not add up to one reminder each")
    print("every patient has exactly one reminder")


def crash(database_url: str, base_url: str, patients: int) -> None:
    env = {**os.environ, **environment(database_url, base_url), "CLAIM_TIMEOUT": "0"}
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
    parser.add_argument("--clocks", type=int, default=1)
    parser.add_argument("--sweep-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=CAP, help=argparse.SUPPRESS)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench"
        ),
    )
    args = parser.parse_args()
    if args.sweep_worker:
        sweep_worker(args.database_url, args.base_url, args.concurrency)
        return
    patients = args.patients or (2000 if args.crash else 10_000)
    prepare(args.database_url, patients)
    stand_in, base_url = start_stand_in()
    try:
        if args.crash:
            crash(args.database_url, base_url, patients)
            return
        if args.clocks > 1:
            clocks(args.database_url, base_url, patients, args.clocks)
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
    print(f"database statements in the sweep: {statements} "
          f"({statements / patients:.3f} per patient); "
          f"peak memory of the sweep process: {peak_kib / 1024:.0f} MiB")  # fmt: skip
    one_each(stats, patients)


if __name__ == "__main__":
    main()
