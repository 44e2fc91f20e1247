"""CPU per webhook request in one process, one request at a time, beside the bare app.

Where wrk's figures swing with the machine's load, this measures what one text costs the
process that answers it: the bot (every check, its one statement on PostgreSQL) and the
bare Flask app of benchmarks/bare_app.py (the floor), each through Flask's test client,
alternating ``--rounds`` times; it prints each round and the median. Beside the bot's, the
CPU PostgreSQL's processes spent per text meanwhile (all of this machine's: keep it quiet),
which a change to the webhook's statement moves and the process's own CPU does not. For a
before/after comparison, run it from a checkout of each commit against its own database.

    .venv/bin/python benchmarks/webhook_cpu.py [--requests 1500] [--rounds 3]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench]

The database named by --database-url is emptied.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

from flask_migrate import upgrade
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bare_app import create_app as create_bare_app  # noqa: E402
from database import create_database, empty_all  # noqa: E402
from webhook import TOKEN, cpu_seconds, processes, twilio_form  # noqa: E402

from bot import create_app  # noqa: E402
from bot.models import db  # noqa: E402

URL = "http://localhost/sms"


def signed_requests(count: int, seed: int) -> list[tuple[dict, str]]:
    validator, rng = RequestValidator(TOKEN), random.Random(seed)
    requests = []
    for i in range(count):
        params = twilio_form(f"SM{seed:08x}{i:024x}", rng)
        requests.append((params, validator.compute_signature(URL, params)))
    return requests


def postgres_cpu() -> float:
    """CPU seconds PostgreSQL's processes have used so far (Linux /proc)."""
    return sum(cpu_seconds(processes(name="postgres")).values())


def cpu_per_request(client, requests) -> tuple[float, float]:
    """CPU seconds of this process, and of PostgreSQL, per request, after a warm-up of 100."""
    for params, signature in requests[:100]:
        client.post("/sms", data=params, headers={"X-Twilio-Signature": signature})
    started, database = time.process_time(), postgres_cpu()
    for params, signature in requests[100:]:
        response = client.post("/sms", data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.status_code
    count = len(requests) - 100
    return (time.process_time() - started) / count, (postgres_cpu() - database) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench"
        ),
    )
    args = parser.parse_args()
    app = create_app(
        {"DATABASE_URL": args.database_url, "TWILIO_AUTH_TOKEN": TOKEN,
         "SECRET_KEY": "bench-secret-key-0123456789abcdef", "LOG_LEVEL": "WARNING",
         "RATE_LIMIT_PER_HOUR": 1_000_000}
    )  # fmt: skip
    create_database(args.database_url)
    with app.app_context():
        upgrade()
    bot, bare = app.test_client(), create_bare_app().test_client()
    figures: dict[str, list[float]] = {"bare Flask": [], "the bot": [], "PostgreSQL": []}
    for round_ in range(args.rounds):
        with app.app_context(), db.engine.begin() as conn:
            empty_all(conn)
        requests = signed_requests(args.requests, round_)
        figures["bare Flask"].append(cpu_per_request(bare, requests)[0])
        own, database = cpu_per_request(bot, requests)
        figures["the bot"].append(own)
        figures["PostgreSQL"].append(database)
        print(
            f"round {round_ + 1}: bare {figures['bare Flask'][-1] * 1e6:.0f} us, "
            f"the bot {figures['the bot'][-1] * 1e6:.0f} us CPU per request; "
            f"PostgreSQL {figures['PostgreSQL'][-1] * 1e6:.0f} us for each of the bot's"
        )
    rounds = f"{args.requests - 100} requests a round, {args.rounds} rounds"
    print(f"\n{rounds}, median CPU per request:")
    for name, values in figures.items():
        print(f"  {name:12} {statistics.median(values) * 1e6:7.0f} us")


if __name__ == "__main__":
    main()
