"""The chat command, the simulator page, and migrations that match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from bot.models import Message, db


def test_chat_goes_through_the_webhook_code(runner, session):
    result = runner.invoke(args=["chat", "--phone", "+12025550142"], input="hours\nSTOP\nhi\n\n")
    assert result.exit_code == 0, result.output
    assert "Office hours" in result.output
    assert "no more texts" in result.output
    assert "(no reply: opted_out)" in result.output
    rows = session.scalars(select(Message).where(Message.phone == "+12025550142")).all()
    assert [m.direction for m in rows] == ["in", "out", "in", "out", "in"]


def test_chat_without_schema_says_how_to_fix(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/empty.sqlite3")
    result = app.test_cli_runner().invoke(args=["chat"], input="hi\n")
    assert result.exit_code != 0
    assert "flask --app bot db upgrade" in result.output


def test_simulator_page_sends_and_shows_conversation(make_app):
    app = make_app(SIMULATOR="1", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    response = client.post("/simulator/", data={"phone": "+12025550150", "body": "<b>hi</b>"})
    assert response.status_code == 302
    page = client.get("/simulator/?phone=%2B12025550150").get_data(as_text=True)
    assert "&lt;b&gt;hi&lt;/b&gt;" in page  # the patient's text shown as text
    assert "<b>hi</b>" not in page
    assert "EXERCISES, HOURS, ADDRESS or INSURANCE" in page


def test_simulator_form_needs_csrf_token(make_app):
    client = make_app(SIMULATOR="1").test_client()
    response = client.post("/simulator/", data={"phone": "+12025550150", "body": "hi"})
    assert response.status_code == 400


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
