"""Security headers on every response.

The staff pages hold patients' data, so the browser is told to run no script but the
app's own files (no inline script or event handler: a name that slips into one runs
nothing), to load nothing from other origins, never to show the pages in a frame, to send
no address to other sites, and to keep no copy of any page. Static files may be cached.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.routing import IntegerConverter

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


class IdConverter(IntegerConverter):
    """A row id in a URL (``<id:patient_id>``): 1 up to the largest BIGINT. A bigger number
    is no page (404), instead of a database error (500)."""

    def __init__(self, map, **kwargs):
        super().__init__(map, min=1, max=2**63 - 1, **kwargs)


def init_app(app: Flask) -> None:
    """Before the blueprints are registered: their routes use the ``id`` converter."""
    app.url_map.converters["id"] = IdConverter
    app.after_request(add_security_headers)
