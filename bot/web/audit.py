"""The audit trail's pages (admins only), and ``note``: what the signed-in staff member
did, from the request's address, for the trail (``bot.accounts.audit``)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from bot.accounts import audit
from bot.models import db, utcnow
from bot.web.guards import require_sign_in

bp = Blueprint("audit", __name__)


def note(action: str, patient_id: int | None = None, detail: str = "") -> None:
    """Within a staff request: the signed-in member did this, from the request's address
    (as the proxy reports it: PROXY_HOPS). The caller commits."""
    audit.record(db.session, current_user.email, action, request.remote_addr, patient_id, detail)


@bp.before_request
def admins_only():
    refused = require_sign_in()
    if refused is not None:
        return refused
    if not current_user.is_admin:
        abort(403)
    return None


@bp.get("/audit")
def page():
    filters, errors = audit.Filters.from_args(request.args, current_app.config["CLINIC_TIMEZONE"])
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    rows = [] if errors else audit.trail(db.session, filters, before_id)
    note("view_audit", detail=_described(filters))
    db.session.commit()
    return render_template(
        "audit.html",
        rows=rows,
        filters=filters,
        errors=errors,
        actions=audit.ACTIONS,
        page_size=audit.PAGE,
        older=rows[-1].event.id if len(rows) == audit.PAGE else None,
    )


@bp.get("/audit.csv")
def export():
    filters, errors = audit.Filters.from_args(request.args, current_app.config["CLINIC_TIMEZONE"])
    if errors:
        return Response("\n".join(errors) + "\n", 400, mimetype="text/plain")
    note("export_audit", detail=_described(filters))
    db.session.commit()
    name = f"audit-{utcnow().date().isoformat()}.csv"
    return Response(
        "".join(audit.export_rows(db.session, filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _described(filters: audit.Filters) -> str:
    return ", ".join(f"{k}={v}" for k, v in filters.args().items())[:500] or "everything"
