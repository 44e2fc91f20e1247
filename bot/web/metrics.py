"""The metrics page for Prometheus's scraper (``bot.ops.metrics`` counts): ``METRICS_TOKEN``
guards it (``Authorization: Bearer ...``); unset, the page does not exist (404)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.ops.metrics import registry

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def page():
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(
            "A bearer token is needed\n", 401, {"WWW-Authenticate": "Bearer"}, "text/plain"
        )
    body = generate_latest(registry(current_app._get_current_object()))
    return Response(body, content_type=CONTENT_TYPE_LATEST)
