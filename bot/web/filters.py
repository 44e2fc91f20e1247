"""The staff pages' template filters: moments and days in the clinic's time zone, numbers
as people read them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Flask, current_app

from bot.patients import records as pt


def clinic_time(moment) -> str:
    """A moment in the clinic's time zone, labelled: "Nov 29, 2026, 4:51 PM EST"."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(current_app.config["CLINIC_TIMEZONE"]))
    return (
        f"{local:%b} {local.day}, {local.year}, {pt.readable_time(local.time())} {local.tzname()}"
    )


def clinic_date(moment, zone: str | None = None) -> str:
    """A day as people read it, "Mon, Dec 7", where the clinic is (or in ``zone``)."""
    local = moment.astimezone(ZoneInfo(zone or current_app.config["CLINIC_TIMEZONE"]))
    return f"{local:%a}, {local:%b} {local.day}"


def init_app(app: Flask) -> None:
    app.add_template_filter(clinic_time, "clinic_time")
    app.add_template_filter(clinic_date, "clinic_date")
    app.add_template_filter(pt.readable_phone, "phone")
    app.add_template_global(pt.readable_time, "readable_time")
