"""Webhook throughput and latency against the stack's limit, side by side in one run.

Serves, each with gunicorn (2 sync workers) on loopback:
  * the bot: POST /sms with every check on the path (signature, opt-out, rate limit,
    idempotency) and both messages committed to the database before the answer, logging
    at its production level (INFO);
  * a bare Flask app that answers a fixed TwiML reply (benchmarks/bare_app.py): the limit;
  * for calibration, the minimal handler the webhook issue quotes (reference_app.py).
Then drives each with wrk (16 connections) replaying distinct, correctly signed Twilio
requests, and prints requests per second and p50/p99 latency side by side, and where the
machine's CPU time went per request (the app's gunicorn workers, PostgreSQL, wrk; Linux).
The apps run in turn, ``--rounds`` times over (the tables emptied before each run): the
speed of a shared machine drifts within minutes, and a drift then falls on every app, not
on whichever ran last; each round is printed, then all of them as one.

    .venv/bin/python benchmarks/webhook.py [--seconds 10] [--rounds 3] [--connections 16]
        [--workers 2] [--enrolled]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench]

Needs wrk (Debian package ``wrk``). The database named by --database-url is emptied.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from database import create_database, empty_all
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "bench-auth-token-0123456789abcdef"
BODIES = [
    "hours", "cat camel", "do you take aetna", "where is the office", "open now?",
    "piriformis strech", "what stretches help my lower back", "do you take kaiser", "hi",
    "thank you!", "address and hours pls", "list exercises", "are you open thursday morning",
    "knee to chest", "bcbs", "can I text someone",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


# With --enrolled: every number that texts is a subscribed patient (agreed in person, then
# YES), as in a clinic where most texts come from the patients it enrolled.
ENROLL = [
    """INSERT INTO consent_events (phone, action, keyword, source, created_at)
       SELECT '+1202555' || lpad(g::text, 4, '0'), 'opt_in', 'yes', 'sms',
              now() - interval '1 day'
       FROM generate_series(0, 9999) AS g""",
    """INSERT INTO patients (name, search_name, phone, language, routine, reminder_time,
        timezone, paused, number_invalid, enrolled_at, enrolled_by)
       SELECT 'Patient ' || g, 'patient ' || g, '+1202555' || lpad(g::text, 4, '0'), 'en',
              '["cat-camel"]', time '09:00', 'America/New_York', false, false,
              now() - interval '2 days', 'bench'
       FROM generate_series(0, 9999) AS g""",
]


def enroll(conn) -> None:
    """Enroll the 10,000 subscribed patients of ENROLL (an older schema, without
    ``search_name``, gets them too: benchmarks/webhook_instructions.py --checkout)."""
    columns = {c["name"] for c in inspect(conn).get_columns("patients")}
    for statement in ENROLL:
        if "search_name" not in columns:
            statement = statement.replace("name, search_name,", "name,")
            statement = statement.replace("'Patient ' || g, 'patient ' || g,", "'Patient ' || g,")
        conn.execute(text(statement))


def prepare_database(url: str, enrolled: bool = False, root: Path = ROOT) -> None:
    """Create the benchmark database if needed, bring it to the schema of the checkout at
    ``root``, empty it (and enroll every number that texts, with ``enrolled``)."""
    create_database(url)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "b" * 40}
    subprocess.run([BIN / "flask", "--app", "bot", "db", "upgrade"], env=env, check=True,
                   cwd=root, capture_output=True)  # fmt: skip
    engine = create_engine(url)
    with engine.begin() as conn:
        # Every table the webhook writes (the threads too: their dead rows, where autovacuum
        # is off, slowed each run more than the one before); TRUNCATE, not DELETE.
        if engine.dialect.name == "postgresql":
            empty_all(conn)
        else:
            conn.execute(text("DELETE FROM messages"))
            conn.execute(text("DELETE FROM consent_events"))
        if enrolled:
            if engine.dialect.name != "postgresql":
                raise SystemExit("--enrolled needs PostgreSQL")
            enroll(conn)
    engine.dispose()


def twilio_form(sid: str, rng: random.Random) -> dict:
    """What Twilio posts for one text: a fictional patient's number, a common question."""
    return {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": f"+1202555{rng.randrange(10000):04d}",
        "To": "+12025550199",
        "Body": rng.choice(BODIES),
        "NumMedia": "0",
    }


def signed_requests(path: Path, port: int, count: int) -> None:
    validator = RequestValidator(TOKEN)
    url = f"http://127.0.0.1:{port}/sms"
    rng = random.Random(7)
    with path.open("w") as out:
        for i in range(count):
            params = twilio_form(f"SM{i:032x}", rng)
            out.write(f"{validator.compute_signature(url, params)}\t{urlencode(params)}\n")


def serve(
    app: str, port: int, env: dict, workers: int, log, threads: int = 1, config: str = ""
) -> subprocess.Popen:
    """gunicorn serving ``app``: with ``config`` (the production gunicorn.conf.py: access
    log, metrics folder), else with none (gunicorn would read ./gunicorn.conf.py itself)."""
    return subprocess.Popen(
        [BIN / "gunicorn", app, "--config", config or os.devnull, "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--threads", str(threads)],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )  # fmt: skip


def run_wrk(port: int, script_args: list[str], seconds: int, connections: int) -> dict:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
         str(ROOT / "benchmarks" / "wrk_requests.lua"), f"http://127.0.0.1:{port}", "--",
         *script_args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    return {
        "rps": rps,
        "total": total,
        "non2xx": int(errors.group(1)) if errors else 0,
        "p50": latency.get("50"),
        "p99": latency.get("99"),
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User plus system CPU time each process has used so far (Linux /proc)."""
    seconds = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return seconds


def used_since(before: dict[int, float], pids: list[int]) -> float:
    """CPU seconds used since ``before`` by the processes alive now (new ones: all of it)."""
    return sum(now - before.get(pid, 0.0) for pid, now in cpu_seconds(pids).items())


def processes(*, parent: int | None = None, name: str | None = None) -> list[int]:
    """PIDs of a process's children, or of the processes with that command name."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1]
            if (parent is not None and int(rest.split()[1]) == parent) or comm == name:
                found.append(int(entry.name))
    return found


def measured_run(server: subprocess.Popen, port: int, script_args, seconds, connections):
    """run_wrk, plus the CPU time per request of the app's workers, PostgreSQL and wrk."""
    workers = processes(parent=server.pid)
    before = cpu_seconds(workers), cpu_seconds(processes(name="postgres"))
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_wrk(port, script_args, seconds, connections)
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = used_since(before[0], workers), used_since(before[1], processes(name="postgres"))
    wrk = (wrk_after.ru_utime + wrk_after.ru_stime) - (wrk_before.ru_utime + wrk_before.ru_stime)
    per_request = 1e6 / max(result["total"], 1)
    result["cpu_us"] = {
        "workers": used[0] * per_request,
        "postgres": used[1] * per_request,
        "wrk": wrk * per_request,
    }
    return result


def count_rows(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    with engine.connect() as conn:  # one snapshot for both counts
        inbound, replies = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE direction = 'in'), "
                "count(*) FILTER (WHERE direction = 'out') FROM messages"
            )
        ).one()
    engine.dispose()
    return inbound, replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="each app's run in a round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="the apps run in turn, this many times over"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=1, help="gunicorn threads per worker (gthread), all apps"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench"
        ),
    )
    parser.add_argument(
        "--enrolled", action="store_true", help="every number that texts is an enrolled patient"
    )
    parser.add_argument(
        "--production-config",
        action="store_true",
        help="serve the bot with gunicorn.conf.py (its access log too), not gunicorn's defaults",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    prepare_database(args.database_url, args.enrolled)
    apps = {
        "bare": "bare_app:create_app()",
        "reference": "reference_app:create_app()",
        "bot": "bot:create_app()",
    }
    ports = {name: free_port() for name in apps}
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": "b" * 40,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "RATE_LIMIT_PER_HOUR": "20",
        "PYTHONPATH": str(ROOT / "benchmarks"),
    }
    rounds: list[dict[str, dict]] = []  # each round: every app's run
    checked = []  # each round: the bot's inbound rows, replies, answered requests
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "server.log", "w") as log:
        # The bot counts its metrics in files, as under gunicorn.conf.py in production.
        bot_env = {**env, "PROMETHEUS_MULTIPROC_DIR": tmp}
        config = str(ROOT / "gunicorn.conf.py") if args.production_config else ""
        servers = {
            name: serve(
                app, ports[name], bot_env if name == "bot" else env, args.workers, log,
                args.threads, config if name == "bot" else "",
            )
            for name, app in apps.items()
        }  # fmt: skip
        try:
            script_args = {}
            for name, server in servers.items():
                wait_for(ports[name], server)
                # More distinct requests than a run sends, so no MessageSid is sent twice
                # between two emptyings of the tables; signed for this server's URL.
                requests_file = Path(tmp) / f"{name}.txt"
                signed_requests(requests_file, ports[name], 200_000)
                script_args[name] = [str(requests_file), "2"]
                # Warm up (imports, pools, prepared statements).
                run_wrk(ports[name], script_args[name], 2, args.connections)
            names = list(apps)
            for round_ in range(args.rounds):
                # The apps in turn, each round starting with the next one: a drift of the
                # machine's speed during the run falls on every app alike.
                order = names[round_ % len(names) :] + names[: round_ % len(names)]
                rounds.append({})
                for name in order:
                    prepare_database(args.database_url, args.enrolled)  # tables emptied
                    rounds[-1][name] = measured_run(
                        servers[name], ports[name], script_args[name], args.seconds,
                        args.connections,
                    )  # fmt: skip
                    if name == "bot":
                        checked.append((*count_rows(args.database_url), rounds[-1][name]))
        finally:
            for server in servers.values():
                server.terminate()
                server.wait(10)

    backend = make_url(args.database_url).get_backend_name()
    kind = "sync" if args.threads == 1 else f"gthread ({args.threads} threads)"
    who = "enrolled patients" if args.enrolled else "numbers not enrolled"
    print(f"machine: {os.cpu_count()} CPUs; gunicorn {args.workers} {kind} workers each; "
          f"wrk -t2 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds, the apps in "
          f"turn; database {backend}; texts from {who}")  # fmt: skip
    print(f"{'':<65}{'CPU us per request':>27}")
    print(f"{'round':<8}{'app':<11}{'req/s':>9}{'of bare':>9}{'p50':>10}{'p99':>10}"
          f"{'requests':>10}{'non-2xx':>9}{'workers':>10}{'postgres':>10}{'wrk':>7}")  # fmt: skip
    for number, results in enumerate(rounds, 1):
        for name in apps:
            show(str(number), name, results[name], results["bare"]["rps"])
    if args.rounds > 1:
        whole = {name: combined([results[name] for results in rounds]) for name in apps}
        for name in apps:
            show("all", name, whole[name], whole["bare"]["rps"])
        ratios = sorted(results["bot"]["rps"] / results["bare"]["rps"] for results in rounds)
        print(f"the bot's share of bare Flask, round by round: "
              f"{', '.join(f'{r:.0%}' for r in ratios)} (lowest to highest); "
              f"p99 over all rounds: the highest round's")  # fmt: skip
    for inbound, replies, bot in checked:
        print(f"inbound rows: {inbound} (requests answered: {bot['total']}); replies: {replies}")
        # wrk counts requests it sent; a request cut off when the run ends is not answered,
        # so the rows may exceed answered requests by up to one per connection, never fall
        # short.
        if inbound < bot["total"] - bot["non2xx"]:
            raise SystemExit("FAIL: fewer inbound rows than answered requests")


def show(round_: str, name: str, r: dict, bare_rps: float) -> None:
    cpu = r["cpu_us"]
    print(f"{round_:<8}{name:<11}{r['rps']:>9.0f}{r['rps'] / bare_rps:>9.0%}{r['p50']:>10}"
          f"{r['p99']:>10}{r['total']:>10}{r['non2xx']:>9}{cpu['workers']:>10.0f}"
          f"{cpu['postgres']:>10.0f}{cpu['wrk']:>7.0f}")  # fmt: skip


def milliseconds(latency: str) -> float:
    """wrk's latency ("812.00us", "14.11ms", "1.02s") in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", latency).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def combined(runs: list[dict]) -> dict:
    """One app's rounds as one run: requests and CPU summed, the rate over the time of all;
    p50 the rounds' median, p99 the highest round's."""
    total = sum(r["total"] for r in runs)
    seconds = sum(r["total"] / r["rps"] for r in runs)
    return {
        "rps": total / seconds,
        "total": total,
        "non2xx": sum(r["non2xx"] for r in runs),
        "p50": f"{statistics.median(milliseconds(r['p50']) for r in runs):.2f}ms",
        "p99": max((r["p99"] for r in runs), key=milliseconds),
        "cpu_us": {
            part: sum(r["cpu_us"][part] * r["total"] for r in runs) / total
            for part in runs[0]["cpu_us"]
        },
    }


if __name__ == "__main__":
    main()
