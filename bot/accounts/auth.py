"""Staff sign-in: accounts, passwords, server-side sessions and throttling.

Passwords are hashed with werkzeug's scrypt (slow and salted).

**Sessions** live in the database (``staff_sessions``): the cookie holds a random token
whose SHA-256 names the row, and every request checks that the row is there, the account
active, and neither the idle timeout (``STAFF_IDLE_MINUTES``) nor the lifetime
(``STAFF_SESSION_HOURS``) passed. Signing out deletes the row, so a copy of the cookie
opens nothing; a password change or deactivating the account deletes all of its rows.

**Guessing** is throttled in the database, counted with one atomic upsert per key so that
attempts sent at once are all counted: ``PAIR_LIMIT`` failures for one account from one
address in ``WINDOW``, ``ADDRESS_LIMIT`` from one address whatever the account, and
``ACCOUNT_LIMIT`` for one account from everywhere (guessing spread over many addresses).
Anyone can type wrong passwords for someone else's account, so the pair's limit, which
holds the guesser's address only, is the one that comes first, and an address over its own
limits counts no more against the account: the account itself is held only when guesses
come from many addresses (``ACCOUNT_LIMIT / PAIR_LIMIT`` of them at least). Every attempt
costs one password hash and gets the same words, whatever the account's state (unknown,
deactivated, throttled).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.models import SignInThrottle, StaffSession, StaffUser

WINDOW = dt.timedelta(minutes=15)
PAIR_LIMIT = 5  # one account from one address
ADDRESS_LIMIT = 30  # one address, any account (a clinic's desks may share one address)
ACCOUNT_LIMIT = 50  # one account, from everywhere
MIN_PASSWORD = 10
SEEN_EVERY = dt.timedelta(minutes=1)  # how often a session's last request is written down
REFUSED = (
    "That email and password do not match an account, or there were too many attempts: "
    "check them, or wait 15 minutes and try again."
)
# Checked against when there is no account to check, so every attempt costs the same.
_DUMMY_HASH = generate_password_hash("not a real password")
throttles = SignInThrottle.__table__


class StaffError(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"The password must be at least {MIN_PASSWORD} characters.")
    return generate_password_hash(password)


# Who sees what. Every role: the inbox, the patients, the dashboard and the caseload;
# admins also the staff accounts, the audit trail and the saved replies' page. A clinician
# (a physical therapist) lands on the caseload, the others on the patients.
ROLES = {
    "staff": "Front desk",
    "clinician": "Clinician (lands on the caseload)",
    "admin": "Admin (also staff accounts, the audit trail, saved replies)",
}


def create_staff(session: Session, email: str, password: str, role: str = "staff") -> StaffUser:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise StaffError(f"{email!r} is not an email address.")
    if role not in ROLES:
        raise StaffError(f"The role is one of {', '.join(ROLES)}.")
    if session.scalar(select(func.count()).where(StaffUser.email == email)):
        raise StaffError(f"{email} already has an account.")
    user = StaffUser(email=email, password_hash=hash_password(password), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def password_matches(user: StaffUser, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def set_password(session: Session, user: StaffUser, password: str) -> None:
    """A new password; every session of the account ends."""
    user.password_hash = hash_password(password)
    end_sessions(session, user.id)


def set_role(user: StaffUser, role: str) -> None:
    """A member's new role (ROLES); it holds from their next page."""
    if role not in ROLES:
        raise StaffError(f"The role is one of {', '.join(ROLES)}.")
    user.role = role


def set_active(session: Session, user: StaffUser, active: bool) -> None:
    user.active = active
    if not active:
        end_sessions(session, user.id)


# --- sessions ------------------------------------------------------------------------------


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, user: StaffUser, now: dt.datetime, lifetime: dt.timedelta
) -> str:
    """A new session for the user; the token goes in the cookie, its hash in the table.
    Sessions older than ``lifetime`` are dropped on the way."""
    session.execute(delete(StaffSession).where(StaffSession.created_at < now - lifetime))
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(id=_token_id(token), user_id=user.id, created_at=now,
                             last_seen_at=now))  # fmt: skip
    user.session_token = token
    return token


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(StaffSession).where(StaffSession.id == _token_id(token)))


def end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


def session_user(
    session: Session,
    token: str,
    now: dt.datetime,
    idle: dt.timedelta,
    lifetime: dt.timedelta,
    touch: bool = True,
) -> StaffUser | None:
    """The user of a live session, or None: ended, expired (idle for ``idle``, or older
    than ``lifetime``), or the account deactivated. ``touch``: the request is a person's
    (not a page's own poll), so the session was in use now."""
    if not token or len(token) > 100:
        return None
    row = session.get(StaffSession, _token_id(token))
    if row is None:
        return None
    if row.created_at + lifetime <= now or row.last_seen_at + idle <= now:
        session.delete(row)
        session.commit()
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.active:
        return None
    if touch and now - row.last_seen_at >= SEEN_EVERY:
        row.last_seen_at = now
        session.commit()
    user.session_token = token
    return user


# --- signing in ----------------------------------------------------------------------------


def _count_failure(session: Session, key: str, now: dt.datetime) -> int:
    """Count one failure for ``key`` in its window, atomically; the count after it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    expired = throttles.c.window_start <= now - WINDOW
    statement = dialect.insert(throttles).values(key=key, window_start=now, failures=1)
    statement = statement.on_conflict_do_update(
        index_elements=[throttles.c.key],
        set_={
            "failures": case((expired, 1), else_=throttles.c.failures + 1),
            "window_start": case((expired, now), else_=throttles.c.window_start),
        },
    ).returning(throttles.c.failures)
    return session.execute(statement).scalar_one()


def _account_count(session: Session, key: str, now: dt.datetime) -> int:
    """The account's failures in its window, not counting this attempt."""
    row = session.execute(
        select(throttles.c.failures, throttles.c.window_start).where(throttles.c.key == key)
    ).first()
    return row.failures if row and row.window_start > now - WINDOW else 0


def _keys(email: str, address: str) -> dict[str, tuple[str, int]]:
    return {
        "pair": (f"pair:{email} {address}", PAIR_LIMIT),
        "address": (f"address:{address}", ADDRESS_LIMIT),
        "account": (f"account:{email}", ACCOUNT_LIMIT),
    }


def authenticate(session: Session, email: str, password: str, address: str, now: dt.datetime):
    """The user, or None and why not ("wrong" or "throttled"; the page says the same).

    The attempt is counted as a failure, and committed, before the password is checked,
    so attempts sent at once cannot all be checked against a count none has raised yet;
    a right password takes its count back."""
    email = email.strip().lower()[:254]
    keys = _keys(email, (address or "unknown")[:64])
    counts = {kind: _count_failure(session, keys[kind][0], now) for kind in ("pair", "address")}
    # An address already over its own limits counts no more against the account: one
    # address adds at most PAIR_LIMIT to the account's count (each attempt's pair count is
    # its own, even sent at once), so ACCOUNT_LIMIT takes ACCOUNT_LIMIT / PAIR_LIMIT
    # addresses, and an outsider cannot lock the front desk out from one.
    held_here = any(counts[kind] > keys[kind][1] for kind in counts)
    counts["account"] = (
        _account_count(session, keys["account"][0], now) if held_here
        else _count_failure(session, keys["account"][0], now)
    )  # fmt: skip
    session.commit()
    user = session.scalar(select(StaffUser).where(StaffUser.email == email))
    matches = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if any(counts[kind] > limit for kind, (_, limit) in keys.items()):
        return None, "throttled"
    if user is None or not user.active or not matches:
        return None, "wrong"
    session.execute(
        delete(SignInThrottle).where(SignInThrottle.key.in_([keys["pair"][0], keys["account"][0]]))
    )
    session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key == keys["address"][0], SignInThrottle.failures > 0)
        .values(failures=SignInThrottle.failures - 1)
    )
    return user, "ok"
