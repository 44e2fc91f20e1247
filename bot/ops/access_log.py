"""gunicorn's access log, one line per request whatever the request holds: gunicorn writes
the decoded path as it came, so "%0d%0a" in a URL would end the line and start a forged
one. Control characters in every field are written escaped ("\\r", "\\n", "\\x00").
``logger_class`` in gunicorn.conf.py."""

from __future__ import annotations

from gunicorn.glogging import Logger

_ESCAPES = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def escaped(value):
    if not isinstance(value, str) or value.isprintable():
        return value
    return "".join(
        _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch)
        for ch in value
    )


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        found = super().atoms(resp, req, environ, request_time)
        return {key: escaped(value) for key, value in found.items()}
