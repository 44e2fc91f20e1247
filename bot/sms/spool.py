"""Texts the database could not take, kept on this machine until it can.

When the database is down or too slow to answer within Twilio's 15 seconds, the webhook
still answers the patient (``bot.sms.answering``) and appends the text, with the answer it was
given, to a file in the instance folder: one JSON line, written with one ``write`` and
``fsync``-ed before the answer goes out, under an exclusive lock. Each process writes its
own file. ``replay`` records every spooled text once the database is back, through the
same code as the webhook, keyed by Twilio's MessageSid, so a text replayed twice (two
processes, a replay cut short) is stored once; a file is deleted, under its lock, only
after everything in it is committed. Nothing is sent on replay: the patient was answered.

Replayed by the process that spooled (after its next text the database took), by the clock
every minute, and by hand: ``flask --app bot spool replay``.

Each text is recorded on its own: one that cannot be recorded for what it holds (a line
cut short, a time that is no time, no body) is moved to ``quarantine.jsonl`` beside the
spool with the reason, so it never blocks the texts after it (a STOP among them); the
doctor and ``/readyz`` say how many wait there for a person.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)
PATTERN = "inbound-*.jsonl"
QUARANTINE = "quarantine.jsonl"


@dataclass(frozen=True)
class Spooled:
    """One text the database could not take, and what the patient was answered."""

    phone: str
    body: str
    message_sid: str
    received_at: str  # ISO time, UTC
    reply: str | None
    kind: str
    consent: str | None = None  # "opt_out" or "opt_in", to record
    keyword: str = ""
    opt_out_type: str | None = None

    @property
    def received(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.received_at)


class Spool:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.sids: set[str] = set()  # spooled by this process: never answered again
        self.waiting = self.folder.is_dir() and any(self.folder.glob(PATTERN))

    def add(self, entry: Spooled) -> bool:
        """Append durably; False when even that failed (the answer says to call)."""
        line = (json.dumps(asdict(entry), ensure_ascii=True) + "\n").encode()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._locked(self.folder / f"inbound-{os.getpid()}.jsonl") as fd:
                os.write(fd, line)
                os.fsync(fd)
            _fsync_dir(self.folder)
        except OSError:
            log.exception("could not spool text %s: it is lost", entry.message_sid)
            return False
        self.sids.add(entry.message_sid)
        self.waiting = True
        return True

    @contextlib.contextmanager
    def _locked(self, path: Path):
        """The file, opened for appending and locked; reopened if a replay deleted it."""
        while True:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink:  # still the file at that path
                break
            os.close(fd)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def replay(
        self, record: Callable[[list[Spooled]], None], unavailable: tuple[type, ...] = ()
    ) -> int:
        """Hand every spooled text to ``record`` (which commits it), one at a time, file by
        file; a file is deleted once each of its texts is recorded or quarantined. An error
        of ``unavailable`` (the database still away) stops the replay: the file stays for
        the next time (what was recorded is not recorded twice: keyed by MessageSid).
        Returns how many were recorded. A file another process is writing or replaying is
        left for the next time."""
        done = 0
        for path in sorted(self.folder.glob(PATTERN)) if self.folder.is_dir() else []:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # replayed by another process meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                if not os.fstat(fd).st_nlink:
                    continue
                with open(fd, "rb", closefd=False) as file:
                    lines = [line for line in file.read().splitlines() if line.strip()]
                for line in lines:
                    entry, why = _entry(line)
                    if entry is not None:
                        try:
                            record([entry])
                            done += 1
                            continue
                        except unavailable:
                            raise  # the database is still away: the file stays
                        except Exception as exc:  # noqa: BLE001 - what the text holds
                            why = f"not recorded: {type(exc).__name__}: {str(exc)[:200]}"
                    self._quarantine(line, why)
                os.unlink(path)
            finally:
                os.close(fd)
        self.waiting = self.folder.is_dir() and any(self.folder.glob(PATTERN))
        if done:
            log.warning("recorded %d texts kept while the database was unavailable", done)
        return done

    def _quarantine(self, line: bytes, why: str) -> None:
        """Keep a text that cannot be recorded, with why, for a person to look at."""
        kept = {"reason": why, "line": line.decode("utf-8", "replace")}
        with self._locked(self.folder / QUARANTINE) as fd:
            os.write(fd, (json.dumps(kept, ensure_ascii=True) + "\n").encode())
            os.fsync(fd)
        log.error("a spooled text could not be recorded; kept in %s: %s", QUARANTINE, why)

    def quarantined(self) -> int:
        """How many spooled texts wait in quarantine for a person."""
        path = self.folder / QUARANTINE
        try:
            return sum(1 for line in path.read_bytes().splitlines() if line.strip())
        except FileNotFoundError:
            return 0


def _entry(line: bytes) -> tuple[Spooled | None, str]:
    """The text of a spool line, or None and why it cannot be recorded."""
    try:
        fields = json.loads(line)
        entry = Spooled(**fields)
    except (ValueError, TypeError) as exc:  # a line cut short by a crash mid-write
        return None, f"unreadable: {type(exc).__name__}"
    for name in ("phone", "body", "message_sid", "received_at", "kind"):
        if not isinstance(getattr(entry, name), str):
            return None, f"{name} is not text"
    try:
        entry.received  # noqa: B018 - read to check it
    except ValueError:
        return None, "received_at is not a time"
    return entry, ""


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
