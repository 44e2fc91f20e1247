"""Health for the IT person and the load balancer: ``GET /healthz`` (the process answers; no
database) and ``GET /readyz`` (``bot.ops.health.ready_checks``). JSON, no patient data, open
without signing in: 200 when ready, 503 with what is wrong otherwise.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify

from bot.ops.health import ready_checks

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The checks, answered from this process's last result for ``READY_CACHE_SECONDS``:
    a load balancer or monitor asking many times a second costs the database one round
    trip a second, not one each (50 clients on it had slowed the webhook tenfold)."""
    cache = current_app.extensions.setdefault("ready_cache", {})
    ttl = current_app.config["READY_CACHE_SECONDS"]
    at = time.monotonic()
    if ttl and "answer" in cache and at - cache["at"] < ttl:
        return _answer(*cache["answer"])
    checks, clock = ready_checks(current_app)
    cache.update(at=at, answer=(checks, clock))
    return _answer(checks, clock)


def _answer(checks: dict[str, str], clock: dict):
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ready else "fail", "checks": checks, "clock": clock}
    # Texts kept while the database was away: said, not failed (a load balancer would take
    # the instance out for what a person must read; the doctor says what to do).
    kept = current_app.extensions["spool"]
    body["spool"] = {"waiting": kept.waiting, "quarantined": kept.quarantined()}
    return jsonify(body), 200 if ready else 503
