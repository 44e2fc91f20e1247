"""Staff pages about who does the exercises: the dashboard, a therapist's caseload and the
adherence export."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, render_template, request

from bot.models import db, local_date, utcnow
from bot.reminders import adherence, caseload
from bot.web import audit
from bot.web.guards import require_sign_in

bp = Blueprint("reports", __name__)
bp.before_request(require_sign_in)

MAX_EXPORT_DAYS = 366


@bp.get("/dashboard")
def dashboard():
    days = request.args.get("days", "30")
    days = int(days) if days.isdigit() and int(days) in adherence.RANGES else 30
    zone = current_app.config["CLINIC_TIMEZONE"]
    figures = adherence.dashboard(db.session, days, utcnow(), zone)
    return render_template(
        "dashboard.html", figures=figures, ranges=adherence.RANGES, quiet_days=adherence.QUIET_DAYS
    )


@bp.get("/caseload")
def caseload_page():
    sort = request.args.get("sort", "attention")
    sort = sort if sort in caseload.SORTS else "attention"
    page = request.args.get("page", "1")
    page = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 10_000 else 1
    today = local_date(utcnow(), current_app.config["CLINIC_TIMEZONE"])
    return render_template(
        "caseload.html",
        load=caseload.caseload(db.session, today, sort, page),
        sort=sort,
        sorts=caseload.SORTS,
        quiet_days=caseload.QUIET_DAYS,
    )


def _date(raw: str | None, default: dt.date) -> dt.date | None:
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


@bp.get("/adherence.csv")
def export():
    """Adherence per patient for a range of dates (``from``, ``to``: YYYY-MM-DD)."""
    today = local_date(utcnow(), current_app.config["CLINIC_TIMEZONE"])
    last = _date(request.args.get("to"), today)
    first = _date(request.args.get("from"), today - dt.timedelta(days=29))
    if first is None or last is None:
        return Response(
            "from and to must be dates such as 2026-11-01\n", 400, mimetype="text/plain"
        )
    if first > last or (last - first).days >= MAX_EXPORT_DAYS:
        return Response(
            f"from must be on or before to, at most {MAX_EXPORT_DAYS} days apart\n",
            400,
            mimetype="text/plain",
        )
    body = adherence.export_csv(db.session, first, last)
    audit.note("export_adherence", detail=f"{first.isoformat()} to {last.isoformat()}")
    db.session.commit()
    name = f"adherence-{first.isoformat()}-to-{last.isoformat()}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
