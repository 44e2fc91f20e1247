"""The README's deployment, as written: its three commands are the Procfile's, and they
bring a new PostgreSQL database to a served, ready app (release, web, clock)."""

from __future__ import annotations

import os
import queue
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CLINIC_NUMBER,
    TEST_DATABASE_URL,
    sign,
    twilio_params,
)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            kind, command = line.split(":", 1)
            entries[kind.strip()] = command.strip()
    return entries


def readme_commands() -> list[str]:
    """The commands of the README's deployment block (the lines run from .venv/bin)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Deploy with PostgreSQL", 1)[1].split("```sh", 1)[1].split("```")[0]
    return [
        re.sub(r"\s+#.*$", "", line).replace(".venv/bin/", "", 1).strip()
        for line in block.splitlines()
        if line.startswith(".venv/bin/")
    ]


def test_the_readme_and_the_procfile_say_the_same():
    entries = procfile()
    assert set(entries) == {"release", "web", "clock"}
    assert readme_commands() == [entries["release"], entries["web"], entries["clock"]]
    assert "gunicorn.conf.py" in entries["web"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def new_database():
    """A database of its own on the test server, dropped afterwards."""
    name = f"deploy_{secrets.token_hex(4)}"
    admin = create_engine(
        TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url.replace("postgresql+psycopg://", "postgresql://", 1)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


class Running:
    """A process of the Procfile, its output read line by line as it comes."""

    def __init__(self, command: str, env: dict):
        self.process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            self.queue.put(line)
        self.queue.put(None)

    def expect(self, pattern: str, timeout: float = 60) -> str:
        """The first line (from here on) matching ``pattern``: the event waited for."""
        while True:
            try:
                line = self.queue.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"no {pattern!r} within {timeout} s: {''.join(self.lines)[-3000:]}")
            if line is None:
                pytest.fail(f"ended before {pattern!r}: {''.join(self.lines)[-3000:]}")
            if re.search(pattern, line):
                return line

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        self.reader.join(timeout=30)
        self.process.stdout.close()
        return "".join(self.lines)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="deployment on PostgreSQL")
def test_release_web_and_clock_as_written(new_database, fake_twilio, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": new_database,
        "SECRET_KEY": secrets.token_hex(32),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": CLINIC_NUMBER,
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PROXY_HOPS": "0",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "SPOOL_DIR": str(tmp_path / "spool"),
        "LOG_FORMAT": "json",
        "METRICS_TOKEN": "deploy-metrics-token",
        # /readyz answers from its last result for 2 s in production: here each check must
        # see what just changed (the clock's first sweep), so it asks every time.
        "READY_CACHE_SECONDS": "0",
    }
    entries = procfile()
    release = subprocess.run(
        ["bash", "-c", entries["release"]], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert release.returncode == 0, release.stderr[-3000:]
    base = f"http://127.0.0.1:{port}"
    web = Running(entries["web"], env)
    clock = None
    try:
        web.expect(rf"Listening at: http://0\.0\.0\.0:{port}")
        # Workers accept what waited in the socket's queue once they have booted.
        assert requests.get(f"{base}/healthz", timeout=30).json() == {"status": "ok"}
        ready = requests.get(f"{base}/readyz", timeout=5).json()
        assert ready["checks"]["migrations"] == "ok" and ready["checks"]["database"] == "ok"
        assert ready["status"] == "fail" and "never swept" in ready["checks"]["clock"]

        clock = Running(entries["clock"], env)
        clock.expect(r"Clock started: swept once")
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text

        # A signed text through gunicorn, answered; its access line has no query string.
        params = twilio_params("do you take aetna")
        answer = requests.post(
            f"{base}/sms", data=params, timeout=10,
            headers={"X-Twilio-Signature": sign(f"{base}/sms", params)},
        )  # fmt: skip
        assert answer.status_code == 200 and "Aetna" in answer.text
        for body in ("hours", "address", "cat camel", "hours", "bridge", "menu", "hi"):
            params = twilio_params(body)
            requests.post(
                f"{base}/sms", data=params, timeout=10,
                headers={"X-Twilio-Signature": sign(f"{base}/sms", params)},
            )  # fmt: skip
        # Both workers' counts, added up (prometheus-client's multi-process mode).
        metrics = requests.get(
            f"{base}/metrics", headers={"Authorization": "Bearer deploy-metrics-token"}, timeout=5
        ).text
        counted = sum(
            sample.value
            for family in text_string_to_metric_families(metrics)
            for sample in family.samples
            if sample.name == "bot_texts_in_total"
        )
        assert counted == 8, metrics
        requests.get(f"{base}/patients?q=garcia", timeout=5)
        web.expect(r'"GET /patients" 302')
    finally:
        web_log = web.stop()
        if clock is not None:
            clock.stop()
    assert '"POST /sms" 200' in web_log and "garcia" not in web_log, web_log[-2000:]
    assert re.search(r"id=[0-9a-f-]{8,}", web_log)


def test_the_gunicorn_settings_are_sane(monkeypatch):
    # Read as gunicorn reads it; what it sets in the environment is undone afterwards.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    settings: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)  # noqa: S102 - our own file
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert settings["OWN_METRICS_DIR"] and metrics_dir.is_dir()
    settings["on_exit"](None)
    assert not metrics_dir.exists()
    assert settings["worker_class"] == "sync" and settings["preload_app"] is False
    assert 15 < settings["timeout"] <= 120 and settings["graceful_timeout"] >= 10
    assert "%(U)s" in settings["access_log_format"] and "%(r)s" not in settings["access_log_format"]
    assert shlex.split(procfile()["web"])[:3] == ["gunicorn", "--config", "gunicorn.conf.py"]


def test_the_access_log_cannot_be_given_a_forged_line(monkeypatch):
    """Issue 21: gunicorn wrote the decoded path as it came, so "%0d%0a" in a URL started a
    new, forged access line. The app's logger class writes control characters escaped."""
    import datetime as dt
    import logging
    from types import SimpleNamespace

    from gunicorn.config import Config

    from bot.ops.access_log import AccessLogger

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # what the file sets, undone after
    settings: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)  # noqa: S102 - our own file
    assert settings["logger_class"] == "bot.ops.access_log.AccessLogger"
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", settings["access_log_format"])
    logger = AccessLogger(config)
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger.access_log.handlers = [handler]
    forged = '/x\r\n203.0.113.9 "GET /admin" 200 0 1ms id=-'
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": forged, "RAW_URI": "/x",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "198.51.100.4"}  # fmt: skip
    resp = SimpleNamespace(status="404 NOT FOUND", sent=0, headers=[])
    logger.access(resp, SimpleNamespace(headers=[]), environ, dt.timedelta(milliseconds=3))
    [line] = lines
    assert "\n" not in line and "\r" not in line
    assert line.startswith('198.51.100.4 "GET /x\\r\\n203.0.113.9 ')  # one line
