"""Webhook throughput and latency against the stack's limit, side by side in one run.

Serves, each with gunicorn (2 sync workers) on loopback:
  * the bot: POST /sms with every check on the path (signature, opt-out, rate limit,
    idempotency) and both messages committed to the database before the answer;
  * a bare Flask app that answers a fixed TwiML reply (benchmarks/bare_app.py).
Then drives each with wrk (16 connections) replaying distinct, correctly signed Twilio
requests, and prints requests per second and p50/p99 latency for both.

    .venv/bin/python benchmarks/webhook.py [--seconds 20] [--connections 16]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench]

Needs wrk (Debian package ``wrk``). The database named by --database-url is emptied.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text
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


def prepare_database(url: str) -> None:
    """Create the benchmark database if needed, bring it to the schema, empty it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "b" * 40}
    subprocess.run([BIN / "flask", "--app", "bot", "db", "upgrade"], env=env, check=True,
                   cwd=ROOT, capture_output=True)  # fmt: skip
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM messages"))
        conn.execute(text("DELETE FROM consent_events"))
    engine.dispose()


def signed_requests(path: Path, port: int, count: int) -> None:
    validator = RequestValidator(TOKEN)
    url = f"http://127.0.0.1:{port}/sms"
    rng = random.Random(7)
    with path.open("w") as out:
        for i in range(count):
            params = {
                "MessageSid": f"SM{i:032x}",
                "AccountSid": "AC" + "0" * 32,
                "From": f"+1202555{rng.randrange(10000):04d}",
                "To": "+12025550199",
                "Body": rng.choice(BODIES),
                "NumMedia": "0",
            }
            out.write(f"{validator.compute_signature(url, params)}\t{urlencode(params)}\n")


def serve(app: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    return subprocess.Popen(
        [BIN / "gunicorn", app, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench"
        ),
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    prepare_database(args.database_url)
    bot_port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": "b" * 40,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "RATE_LIMIT_PER_HOUR": "20",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "benchmarks"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        requests_file = Path(tmp) / "requests.txt"
        # More distinct requests than a run sends, so no MessageSid is sent twice.
        signed_requests(requests_file, bot_port, 200_000)
        servers = [
            serve("bot:create_app()", bot_port, env, args.workers),
            serve("bare_app:create_app()", bare_port, env, args.workers),
        ]
        try:
            for port, server in zip((bot_port, bare_port), servers, strict=True):
                wait_for(port, server)
            script_args = [str(requests_file), "2"]
            # Warm both up (imports, connection pools, prepared statements), then measure.
            run_wrk(bare_port, script_args, 2, args.connections)
            prepare_database(args.database_url)
            run_wrk(bot_port, script_args, 2, args.connections)
            prepare_database(args.database_url)
            bare = run_wrk(bare_port, script_args, args.seconds, args.connections)
            bot = run_wrk(bot_port, script_args, args.seconds, args.connections)
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)

    engine = create_engine(args.database_url)
    with engine.connect() as conn:
        inbound = conn.scalar(text("SELECT count(*) FROM messages WHERE direction = 'in'"))
        replies = conn.scalar(text("SELECT count(*) FROM messages WHERE direction = 'out'"))
    engine.dispose()

    print(f"machine: {os.cpu_count()} CPUs; gunicorn {args.workers} sync workers each; "
          f"wrk -t2 -c{args.connections} -d{args.seconds}s; database {make_url(args.database_url).get_backend_name()}")  # fmt: skip
    print(f"{'app':<10}{'req/s':>10}{'p50':>10}{'p99':>10}{'requests':>10}{'non-2xx':>9}")
    for name, r in (("bare", bare), ("bot", bot)):
        print(f"{name:<10}{r['rps']:>10.0f}{r['p50']:>10}{r['p99']:>10}{r['total']:>10}"
              f"{r['non2xx']:>9}")  # fmt: skip
    print(f"bot / bare throughput: {bot['rps'] / bare['rps']:.0%}")
    print(f"inbound rows: {inbound} (requests answered: {bot['total']}); replies: {replies}")
    # wrk counts requests it sent; a request cut off when the run ends is not answered, so
    # the rows may exceed answered requests by up to one per connection, never fall short.
    if inbound < bot["total"] - bot["non2xx"]:
        raise SystemExit("FAIL: fewer inbound rows than answered requests")


if __name__ == "__main__":
    main()
