"""Staff pages on a large clinic: server time per page against the floor, and query plans.

Fills a PostgreSQL database with 10,000 patients and 1,000,000 messages (30 days of
reminders, DONE answers, consent history, an inbox of open threads), then renders each
page many times through the app in this process (signed in, as a browser would ask for
it) and prints p50 and p99 server time beside the floor: a bare Flask app rendering a
page of the same size through the same machinery. Then EXPLAINs every statement the pages
ran and lists any sequential scan of a large table (the ones that grow with the texts).

    .venv/bin/python benchmarks/staff_pages.py [--requests 200]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bot_pages_bench]

The database named by --database-url is emptied and refilled (it is kept between runs
when it already holds the same numbers: --refill forces it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, render_template_string
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "benchmarks"))

from database import create_database, empty_all  # noqa: E402

from bot import create_app  # noqa: E402
from bot.accounts.auth import create_staff  # noqa: E402
from bot.models import db, utcnow  # noqa: E402
from bot.reminders import caseload  # noqa: E402
from bot.reminders.adherence import roll_up  # noqa: E402

PATIENTS = 10_000
MESSAGES = 1_000_000
DAYS = 30
EMAIL, PASSWORD = "bench@clinic.example", "bench password 123"
# Tables that grow with every text or every day: a sequential scan of one is a defect.
LARGE = ("messages", "consent_events", "adherence_days", "reminder_deliveries", "threads")
SMALL_TABLE = 10_000  # rows: below this, reading the whole table is the planner's fair choice

# Set-based fill, in the database: 10,000 patients in 30 zones of names, each with an
# invitation, a YES, 30 days of reminders (delivered), DONE on about two days in three
# with a pain score, and enough other texts to make 1,000,000 messages; 300 open threads.
FILL = [
    """INSERT INTO patients (name, search_name, phone, language, routine, reminder_time,
        timezone, paused, number_invalid, enrolled_at, enrolled_by)
       SELECT 'Patient ' || g || CASE WHEN g % 7 = 0 THEN ' García' ELSE ' Smith' END,
              'patient ' || g || CASE WHEN g % 7 = 0 THEN ' garcia' ELSE ' smith' END,
              '+1202' || lpad(g::text, 7, '0'), CASE WHEN g % 5 = 0 THEN 'es' ELSE 'en' END,
              '["cat-camel", "pelvic-tilt"]', time '09:00' + (g % 10) * interval '30 min',
              'America/New_York', g % 50 = 0, false, now() - interval '60 days', 'bench'
       FROM generate_series(1, :patients) AS g""",
    """INSERT INTO consent_events (phone, action, keyword, source, created_at)
       SELECT phone, 'in_person', 'agreed in person', 'staff', enrolled_at FROM patients
       UNION ALL
       SELECT phone, 'opt_in', 'yes', 'sms', enrolled_at + interval '5 min' FROM patients
       WHERE id % 20 <> 0
       UNION ALL
       SELECT phone, 'opt_out', 'stop', 'sms', now() - (id % 20) * interval '1 day'
       FROM patients WHERE id % 40 = 0""",
    """INSERT INTO reminder_deliveries (patient_id, local_date, phone, body, status, due_at,
        sent_at, message_sid, attempts, created_at)
       SELECT p.id, current_date - d, p.phone, 'Your exercises today', 'sent',
              now() - d * interval '1 day', now() - d * interval '1 day',
              'SMr' || lpad(p.id::text, 7, '0') || lpad(d::text, 3, '0'), 1,
              now() - d * interval '1 day'
       FROM patients p, generate_series(0, :days - 1) AS d WHERE p.id % 20 <> 0""",
    """INSERT INTO messages (phone, direction, body, message_sid, kind, status, created_at)
       SELECT phone, 'out', body, message_sid, 'reminder',
              CASE WHEN patient_id % 10 = 0 THEN 'sent' ELSE 'delivered' END, sent_at
       FROM reminder_deliveries""",
    """INSERT INTO adherence_days (patient_id, local_date, done_at, pain)
       SELECT p.id, current_date - d, now() - d * interval '1 day' + interval '2 hours',
              CASE WHEN (p.id + d) % 4 = 0 THEN NULL ELSE (p.id + d) % 9 END
       FROM patients p, generate_series(0, :days - 1) AS d
       WHERE p.id % 20 <> 0 AND (p.id + d) % 3 <> 0 AND p.id % 13 <> 0""",
    """INSERT INTO messages (phone, direction, body, message_sid, kind, created_at)
       SELECT '+1202' || lpad((g % :patients + 1)::text, 7, '0'), 'in',
              (ARRAY['done', 'hours', 'cat camel', 'do you take aetna', 'call me'])[g % 5 + 1],
              'SMi' || lpad(g::text, 12, '0'),
              (ARRAY['done', 'hours', 'exercise', 'insurance', 'phone'])[g % 5 + 1],
              now() - (g % (:days * 24 * 60)) * interval '1 min'
       FROM generate_series(1, (:messages - (SELECT count(*) FROM messages)) / 2) AS g""",
    """INSERT INTO messages (phone, direction, body, reply_to_sid, kind, created_at)
       SELECT phone, 'out', 'Great work today! Text MENU anytime.', message_sid, kind,
              created_at
       FROM messages WHERE direction = 'in'""",
    # A third done; of the open ones, every fourth answered by staff and waiting on the
    # patient (its reply after the last text).
    """INSERT INTO threads (phone, status, urgent, reason, with_staff, last_in_at,
        last_message_id, opened_at, last_staff_at)
       SELECT m.phone, CASE WHEN m.n % 3 = 0 THEN 'done' ELSE 'open' END, m.n % 10 = 0,
              CASE WHEN m.n % 10 = 0 THEN 'red_flag' ELSE 'person' END, m.n % 4 = 1,
              m.created_at, m.id, m.created_at,
              CASE WHEN m.n % 4 = 1 THEN m.created_at + interval '5 min' END
       FROM (SELECT DISTINCT ON (phone) phone, id, created_at,
                    row_number() OVER (ORDER BY phone) AS n
             FROM messages WHERE kind = 'phone' AND direction = 'in'
             ORDER BY phone, created_at DESC LIMIT 450) AS m""",
    "VACUUM ANALYZE",
]


def fill(url: str, refill: bool) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM messages")).scalar()
        patients = conn.execute(text("SELECT count(*) FROM patients")).scalar()
        if not refill and patients == PATIENTS and have >= MESSAGES * 0.99:
            print(f"database kept: {patients:,} patients, {have:,} messages")
            conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would after a migration
            return
        empty_all(conn)
        started = time.monotonic()
        for statement in FILL:
            conn.execute(
                text(statement), {"patients": PATIENTS, "messages": MESSAGES, "days": DAYS}
            )
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608
            for t in ("patients", "messages", "consent_events", "reminder_deliveries",
                      "adherence_days", "threads")
        }  # fmt: skip
        print(f"filled in {time.monotonic() - started:.0f} s: {counts}")
    engine.dispose()


def timed(client, url: str, requests: int) -> tuple[float, float, int]:
    for _ in range(5):  # warm: templates compiled, connections open
        client.get(url)
    times = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.data)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], size


def floor_app(size: int) -> Flask:
    """The floor: a bare Flask app rendering a template of the same size, no database."""
    app = Flask("floor")
    body = "<tr><td>x</td></tr>" * (size // 20)

    @app.get("/")
    def page():
        return render_template_string("<!doctype html><table>{{ body|safe }}</table>", body=body)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bot_pages_bench"
        ),
    )
    parser.add_argument("--refill", action="store_true")
    args = parser.parse_args()
    create_database(args.database_url)
    app = create_app(
        {"DATABASE_URL": args.database_url, "SECRET_KEY": "bench-secret-key-0123456789abcdef",
         "LOG_LEVEL": "WARNING", "TESTING": True, "WTF_CSRF_ENABLED": False}
    )  # fmt: skip
    with app.app_context():
        upgrade()
        db.engine.dispose()
    fill(args.database_url, args.refill)
    with app.app_context():
        # As the clock does every hour: the settled days' counts for the dashboard.
        db.session.execute(text("DELETE FROM daily_figures"))
        today = utcnow().astimezone(ZoneInfo(app.config["CLINIC_TIMEZONE"])).date()
        print(f"daily figures: {roll_up(db.session, today)} settled days written")
        db.session.execute(text("DELETE FROM caseload_figures"))  # as the clock writes them
        print(f"caseload counts: {caseload.roll_up(db.session, today)} patients written")
        db.session.execute(text("DELETE FROM staff_users"))
        create_staff(db.session, EMAIL, PASSWORD, "admin")
        db.session.commit()
        # Half the threads read by this member, a fifth of them theirs.
        db.session.execute(text(
            "INSERT INTO thread_reads (user_id, thread_id, read_at) SELECT u.id, t.id, "
            "t.last_in_at FROM staff_users AS u, threads AS t WHERE t.id % 2 = 0"
        ))  # fmt: skip
        db.session.execute(text(
            "UPDATE threads SET owner_id = (SELECT id FROM staff_users), assigned_at = now() "
            "WHERE id % 5 = 0"
        ))  # fmt: skip
        db.session.commit()
        patient_id = db.session.execute(text("SELECT id FROM patients WHERE id = 4242")).scalar()
        thread_id = db.session.execute(text("SELECT min(id) FROM threads")).scalar()
    client = app.test_client()
    response = client.post("/signin", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302, "sign-in failed"

    pages = {
        "inbox": "/inbox",
        "inbox, waiting on the patient": "/inbox?list=waiting",
        "inbox, mine": "/inbox?list=mine",
        "a thread": f"/inbox/{thread_id}",
        "patients, first page": "/patients",
        "patients, search 'garcia'": "/patients?q=garcia",
        "patients, search '0143'": "/patients?q=0143",
        "patients, by last text": "/patients?sort=last_text",
        "patients, invited": "/patients?status=invited",
        "a patient": f"/patients/{patient_id}",
        "caseload (needs a look first)": "/caseload",
        "caseload, by pain": "/caseload?sort=pain",
        "dashboard, 7 days": "/dashboard?days=7",
        "dashboard, 30 days": "/dashboard?days=30",
        "dashboard, 90 days": "/dashboard?days=90",
    }
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def keep(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

    floor = floor_app(60_000).test_client()
    f50, f99, fsize = timed(floor, "/", args.requests)
    print(f"\n{args.requests} requests each, server time in this process (PostgreSQL 15, "
          f"{os.cpu_count()} CPUs)")  # fmt: skip
    print(f"{'page':30} {'p50':>9} {'p99':>9} {'KB':>6}")
    print(f"{'floor (bare Flask, no db)':30} {f50 * 1000:8.1f}ms {f99 * 1000:8.1f}ms "
          f"{fsize / 1024:6.0f}")  # fmt: skip
    worst = 0.0
    seen_statements: dict[str, list] = {}
    for name, url in pages.items():
        statements.clear()
        client.get(url)
        seen_statements[name] = list(statements)
        p50, p99, size = timed(client, url, args.requests)
        worst = max(worst, p99)
        print(f"{name:30} {p50 * 1000:8.1f}ms {p99 * 1000:8.1f}ms {size / 1024:6.0f}")
    print(f"\nworst p99: {worst * 1000:.1f} ms (limit 100 ms)")

    print("\nquery plans: sequential scans of large tables")
    raw = create_engine(args.database_url)
    found = 0
    with raw.connect() as conn:
        rows = dict(
            conn.execute(
                text("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(:t)"),
                {"t": list(LARGE)},
            ).all()
        )
        # A table still small (the inbox's few hundred threads) is read whole by choice.
        large = [t for t in LARGE if rows.get(t, 0) > SMALL_TABLE]
        print(f"  tables: {', '.join(f'{t} {int(rows.get(t, 0)):,} rows' for t in LARGE)}")
        for name, executed in seen_statements.items():
            for statement, parameters in executed:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                plan = conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
                scans = [line.strip() for line in plan if "Seq Scan on" in line
                         and any(f"Seq Scan on {t} " in line for t in large)]  # fmt: skip
                for line in scans:
                    found += 1
                    print(f"  {name}: {line}")
    print(f"  {found} found" if found else "  none: every large table is read through an index")


if __name__ == "__main__":
    main()
