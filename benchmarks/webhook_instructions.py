"""Instructions per answered text under callgrind, beside bare Flask: the webhook's yardstick.

Wall time and CPU time move with the machine's load; the number of instructions a process
executes does not. This counts, with ``valgrind --tool=callgrind``, the instructions the
process that answers a text executes per text (user space only: not the kernel's, not
PostgreSQL's), for four kinds of text, each measured on its own:

  question  a number not enrolled asks about the hours ("what are your hours on tuesday",
            varied over the days and wordings: no two of a run are alike, so the reader's
            cache of recent texts serves only the second reading of the same text, as in
            production);
  DONE      an enrolled, subscribed patient's DONE, each from a different patient, so each
            is recorded (kind "done", an adherence day), never "done_again";
  STOP      a number not enrolled opts out (a consent event);
  my routine  a number not enrolled asks for its exercises ("what are my exercises"): the
            patient's record is looked up, none is found, and the clinic's list is sent.

and, beside each, the same requests answered by bare Flask: an app with one POST route that
reads the form and returns fixed TwiML (the stack's floor, as benchmarks/bare_app.py).

    .venv/bin/python benchmarks/webhook_instructions.py [--texts 200] [--warmup 20]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_instr]

Needs valgrind. The database named by --database-url is created when missing, brought to
the schema and emptied; 10,000 patients are enrolled in it (benchmarks/webhook.py's).

How: in process, no network but PostgreSQL's. The parent prepares the database and writes
every request: Twilio's form (benchmarks/webhook.py's ``twilio_form``) with its own
MessageSid, number and text, signed for http://localhost/sms. It then runs two children
under callgrind, the bot and bare Flask, which read the same requests; each builds its
WSGI environs before it starts, then, kind after kind, calls the app as a WSGI server does
(body read, ``close()`` called) with ``--warmup`` requests, then with ``--texts`` measured
ones. The bot child is built by ``create_app`` with the production settings that
gunicorn.conf.py gives a worker: LOG_LEVEL INFO, text logs on stderr, the metrics counted
in files of a fresh PROMETHEUS_MULTIPROC_DIR (and PROXY_HOPS, the rate limit, the timeouts
at their defaults). Callgrind counts from the start; ``--dump-before=getppid`` writes the
counts so far and zeroes them whenever the child calls ``os.getppid()``, which it does
only right before and right after each measured loop (none of the libraries calls
getppid; the number of dumps is checked). Each kind's second dump is thus its measured
loop alone: no imports, no create_app, no warm-up (first statements, psycopg's prepared
statements, SQLAlchemy's compiled cache), plus a constant of a few hundred instructions
(the loop and the calls to getppid), which is nothing divided by the texts. A full
garbage collection runs before each measured loop, so each starts from the same heap.
Deterministic: PYTHONHASHSEED=0, the same requests each run, the database emptied and the
same patients enrolled before it. The clock is the real one (the bot's code is measured
unchanged): a question about today's or tomorrow's day is answered as such, the same
share of them on any day, so runs on different days may differ by a little.

The parent then checks every answer (200, TwiML with a reply) and the database (every
text stored with its kind, every DONE an adherence day, every STOP a consent event), and
prints instructions per text: kind | the bot | bare Flask | ratio.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_instr"
SIGNED_URL = "http://localhost/sms"
SECRET_KEY = "bench-secret-key-0123456789abcdef"
ENROLLED = "+1202555{:04d}"  # benchmarks/webhook.py's ENROLL: patients 0000 to 9999
NOT_ENROLLED = {"question": "+1303555{:04d}", "stop": "+1404555{:04d}", "routine": "+1505555{:04d}"}
KINDS = {
    "question": "question, not enrolled", "done": "DONE, enrolled", "stop": "STOP",
    "routine": "my routine, not enrolled",
}  # fmt: skip
EXPECTED_KIND = {"done": "done", "stop": "opt_out"}  # questions: any kind that replies
DAYS = ["tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "monday"]
WORDINGS = [
    "what are your hours on {day}", "are you open on {day}", "what time do you open {day}",
    "when do you close on {day}", "hours {day}?", "is the office open {day} afternoon",
    "how late are you open on {day}", "what are the hours for {day}",
]  # fmt: skip
OPENERS = ["", "hi, ", "hello! ", "quick question: ", "good morning, ", "hey "]
MARK = "getppid"  # the libc function whose calls cut callgrind's counts in parts


ROUTINE_WORDINGS = [
    "what are my exercises", "list exercises", "send me my routine", "my exercise list",
    "which exercises am i doing", "what is my routine", "what stretches do i do",
    "remind me of my exercises",
]  # fmt: skip


def routine(i: int) -> str:
    """The i-th request for "my routine": a number not enrolled gets the clinic's list,
    after the lookup of its record finds none. 48 wordings: the reader's cache serves the
    repeats, so what this kind adds to a question is the lookup and the list."""
    return (
        OPENERS[(i // len(ROUTINE_WORDINGS)) % len(OPENERS)]
        + ROUTINE_WORDINGS[i % len(ROUTINE_WORDINGS)]
    )


def question(i: int) -> str:
    """The i-th question: every day, then every wording, then every opener (336 alike)."""
    day, wording = DAYS[i % 7], WORDINGS[(i // 7) % len(WORDINGS)]
    return OPENERS[(i // (7 * len(WORDINGS))) % len(OPENERS)] + wording.format(day=day)


def write_requests(path: Path, texts: int, warmup: int) -> None:
    """Every request of the run, each kind's warm-up then its measured ones: Twilio's form
    with a MessageSid of its own, from a number of its own, signed."""
    import random

    from twilio.request_validator import RequestValidator
    from webhook import TOKEN, twilio_form

    validator, rng = RequestValidator(TOKEN), random.Random(0)
    count = warmup + texts
    if count > 10_000:
        raise SystemExit("--warmup plus --texts must be at most 10,000 (the enrolled patients)")
    plan = {}
    for k, kind in enumerate(KINDS):
        requests = []
        for i in range(count):
            if kind == "question":
                phone, body = NOT_ENROLLED[kind].format(i), question(i)
            elif kind == "done":
                phone, body = ENROLLED.format(i), "DONE"
            elif kind == "stop":
                phone, body = NOT_ENROLLED[kind].format(i), "STOP"
            else:
                phone, body = NOT_ENROLLED[kind].format(i), routine(i)
            form = {**twilio_form(f"SM{k:02x}{i:030x}", rng), "From": phone, "Body": body}
            requests.append([form, validator.compute_signature(SIGNED_URL, form)])
        plan[kind] = {"warmup": requests[:warmup], "measured": requests[warmup:]}
    path.write_text(json.dumps(plan))


def prepare_database(url: str, checkout: Path) -> None:
    """Create the database when missing, bring it to the checkout's schema, empty it and
    enroll the 10,000 subscribed patients of benchmarks/webhook.py."""
    import webhook
    from database import empty_all
    from sqlalchemy import create_engine

    webhook.prepare_database(url, root=checkout)  # created, upgraded
    engine = create_engine(url)
    with engine.begin() as conn:
        empty_all(conn)
        webhook.enroll(conn)
    engine.dispose()


# --- The children, under callgrind --------------------------------------------------------


def create_bare_app():
    """Bare Flask: one POST route that reads the form and answers fixed TwiML."""
    from bare_app import TWIML
    from flask import Flask, Response, request

    app = Flask("bare")

    @app.post("/sms")
    def sms():
        if not request.form.get("MessageSid"):
            return Response("MessageSid is required\n", status=400, mimetype="text/plain")
        return Response(TWIML, mimetype="text/xml")

    return app


def create_bot_app(database_url: str, spool_dir: str):
    from webhook import TOKEN

    from bot import create_app

    return create_app(
        {"DATABASE_URL": database_url, "TWILIO_AUTH_TOKEN": TOKEN, "SECRET_KEY": SECRET_KEY,
         "SPOOL_DIR": spool_dir}
    )  # fmt: skip


def call(app, environ: dict) -> tuple[str, bytes]:
    """One request as a WSGI server makes it: the answer read, then closed."""
    status = []

    def start_response(line, headers, exc_info=None):
        status.append(line)

    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return status[0], data


def run_child(which: str, requests_file: Path, results_file: Path, database_url: str) -> None:
    from werkzeug.test import EnvironBuilder

    if which == "bot":
        app = create_bot_app(database_url, str(results_file.parent / "spool"))
    else:
        app = create_bare_app()

    def environ(form: dict, signature: str) -> dict:
        return EnvironBuilder(
            path="/sms", method="POST", base_url="http://localhost", data=form,
            headers={"X-Twilio-Signature": signature},
        ).get_environ()  # fmt: skip

    plan = json.loads(requests_file.read_text())
    results = {}
    for kind, requests in plan.items():
        warmup = [environ(*r) for r in requests["warmup"]]
        measured = [environ(*r) for r in requests["measured"]]
        answers = [call(app, e) for e in warmup]
        gc.collect()
        os.getppid()  # callgrind dumps and zeroes its counts: the measured loop starts
        answers += [call(app, e) for e in measured]
        os.getppid()  # ...and ends
        results[kind] = [[line, data.decode()] for line, data in answers]
    results_file.write_text(json.dumps(results))


# --- The parent ------------------------------------------------------------------------------


def start_child(which: str, tmp: Path, requests_file: Path, database_url: str, checkout: Path):
    """This script's child ``which`` under callgrind, with the production environment."""
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "LOG_LEVEL": "INFO",  # gunicorn.conf.py's loglevel and the app's default
        "LOG_FORMAT": "text",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"{which}-metrics"),  # gunicorn.conf.py's
    }
    (tmp / f"{which}-metrics").mkdir()
    command = [
        "valgrind", "--tool=callgrind", f"--dump-before={MARK}",
        f"--callgrind-out-file={tmp / which}.callgrind", f"--log-file={tmp / which}.valgrind",
        sys.executable, __file__, "--child", which, "--requests-file", str(requests_file),
        "--results-file", str(tmp / f"{which}.json"), "--database-url", database_url,
        "--checkout", str(checkout),
    ]  # fmt: skip
    stderr = open(tmp / f"{which}.stderr", "w")  # noqa: SIM115 (closed by finish_child)
    return subprocess.Popen(command, cwd=checkout, env=env, stdout=stderr, stderr=stderr), stderr


def finish_child(which: str, tmp: Path, process, stderr) -> dict[str, int]:
    """The instructions of each kind's measured loop, from callgrind's dumps."""
    returncode = process.wait()
    stderr.close()
    if returncode != 0:
        print((tmp / f"{which}.stderr").read_text()[-3000:], file=sys.stderr)
        raise SystemExit(f"FAIL: the {which} child exited with {returncode}")
    dumps = {}
    for path in tmp.glob(f"{which}.callgrind*"):
        text = path.read_text()
        part = int(re.search(r"^part: (\d+)", text, re.M).group(1))
        trigger = re.search(r"^desc: Trigger: (.*)$", text, re.M).group(1)
        dumps[part] = (trigger, int(re.search(r"^summary: (\d+)", text, re.M).group(1)))
    # Two dumps a kind (before its measured loop, at its end), then the program's end.
    marks = [part for part, (trigger, _) in dumps.items() if MARK in trigger]
    if sorted(marks) != list(range(1, 2 * len(KINDS) + 1)):
        raise SystemExit(f"FAIL: the {which} child's dumps are not two a kind: {dumps}")
    return {kind: dumps[2 * k + 2][1] for k, kind in enumerate(KINDS)}


def check_answers(which: str, tmp: Path, texts: int, warmup: int) -> None:
    results = json.loads((tmp / f"{which}.json").read_text())
    for kind, answers in results.items():
        if len(answers) != warmup + texts:
            raise SystemExit(f"FAIL: {which} answered {len(answers)} {kind} texts")
        for line, data in answers:
            if not line.startswith("200") or "<Response><Message>" not in data:
                raise SystemExit(f"FAIL: {which} answered a {kind} text {line}: {data[:200]!r}")


def check_database(url: str, texts: int, warmup: int) -> dict[str, dict[str, int]]:
    """Every text stored with a reply, of the expected kind; each DONE an adherence day,
    each STOP a consent event. The kinds the texts were stored under, by kind of text."""
    from sqlalchemy import create_engine, inspect, text

    count = texts + warmup
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = {}
        for k, kind in enumerate(KINDS):
            rows = conn.execute(
                text(
                    "SELECT m.kind, count(*), count(r.id) FROM messages m LEFT JOIN messages r "
                    "ON r.reply_to_sid = m.message_sid AND r.direction = 'out' "
                    "WHERE m.direction = 'in' AND m.message_sid LIKE :prefix GROUP BY m.kind"
                ),
                {"prefix": f"SM{k:02x}%"},
            ).all()
            stored[kind] = {row[0]: row[1] for row in rows}
            if sum(row[1] for row in rows) != count or sum(row[2] for row in rows) != count:
                raise SystemExit(f"FAIL: {kind}: stored and replied {rows}, sent {count}")
            expected = EXPECTED_KIND.get(kind)
            if expected and set(stored[kind]) != {expected}:
                raise SystemExit(f"FAIL: {kind} texts stored as {stored[kind]}")
            if {"rate_limited", "opted_out", "duplicate"} & set(stored[kind]):
                raise SystemExit(f"FAIL: {kind} texts stored as {stored[kind]}")
        if inspect(conn).has_table("adherence_days"):
            days = conn.scalar(text("SELECT count(*) FROM adherence_days"))
        else:  # an older checkout's schema: a DONE was its stored kind alone
            days = stored["done"].get("done", 0)
        stops = conn.scalar(
            text("SELECT count(*) FROM consent_events WHERE action = 'opt_out' AND source = 'sms'")
        )
    engine.dispose()
    if days != count or stops != count:
        raise SystemExit(f"FAIL: {days} adherence days and {stops} opt-outs, for {count} texts")
    return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=200, help="measured texts of each kind")
    parser.add_argument("--warmup", type=int, default=20, help="texts of each kind before")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_INSTR_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument(
        "--checkout", type=Path, default=ROOT,
        help="measure the bot of this checkout (an older commit's worktree: its code and its "
        "migrations; the harness and bare Flask stay this one's)",
    )  # fmt: skip
    parser.add_argument("--child", choices=["bot", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--requests-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--results-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.checkout = args.checkout.resolve()
    if args.child:
        sys.path.insert(0, str(args.checkout))  # its bot before this checkout's
        run_child(args.child, args.requests_file, args.results_file, args.database_url)
        return
    if args.texts < 1 or args.warmup < 6:  # psycopg prepares a statement on its 5th use
        raise SystemExit("--texts must be at least 1 and --warmup at least 6")

    started = time.monotonic()
    prepare_database(args.database_url, args.checkout)
    with tempfile.TemporaryDirectory(prefix="webhook-instructions-") as name:
        tmp = Path(name)
        requests_file = tmp / "requests.json"
        write_requests(requests_file, args.texts, args.warmup)
        children = {
            which: start_child(which, tmp, requests_file, args.database_url, args.checkout)
            for which in ("bot", "bare")
        }
        counts = {which: finish_child(which, tmp, *child) for which, child in children.items()}
        for which in children:
            check_answers(which, tmp, args.texts, args.warmup)
        log_lines = (tmp / "bot.stderr").read_text().count("\n")
    stored = check_database(args.database_url, args.texts, args.warmup)

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=args.checkout, capture_output=True, text=True
    ).stdout.strip()
    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True)
    print(
        f"commit {commit or '?'}; {valgrind.stdout.strip()}, Python {sys.version.split()[0]}; "
        f"{args.texts} measured texts of each kind after {args.warmup}; "
        f"{time.monotonic() - started:.0f} s"
    )
    print("stored as: " + "; ".join(
        f"{kind} " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        for kind, kinds in stored.items()
    ))  # fmt: skip
    print(f"log lines of the bot's process at INFO: {log_lines}\n")
    print(f"| {'kind':<24} | {'bot instructions/text':>21} | {'bare Flask instructions/text':>28} "
          f"| {'ratio':>5} |")  # fmt: skip
    print(f"| {'-' * 24} | {'-' * 20}: | {'-' * 27}: | {'-' * 4}: |")
    for kind, label in KINDS.items():
        bot, bare = counts["bot"][kind] / args.texts, counts["bare"][kind] / args.texts
        print(f"| {label:<24} | {bot:>21,.0f} | {bare:>28,.0f} | {bot / bare:>5.1f} |")


if __name__ == "__main__":
    main()
