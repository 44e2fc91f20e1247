"""Command-line tools: ``flask --app bot chat``."""

from __future__ import annotations

import logging

import click
from flask import Blueprint
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.inbound import Inbound
from bot.webhook import local_sid, reply_to

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.command("chat")
@click.option("--phone", default="+12025550100", show_default=True, help="Number to text from.")
def chat(phone: str) -> None:
    """Chat with the bot in the terminal, through the same code as the webhook."""
    logging.getLogger("bot").setLevel(logging.WARNING)  # keep the conversation readable
    click.echo("Text the clinic as a patient would. An empty line or Ctrl-D ends the chat.")
    while True:
        try:
            body = input("you> ")
        except EOFError:
            break
        if not body.strip():
            break
        try:
            outcome = reply_to(Inbound(phone=phone, body=body, message_sid=local_sid("SM-chat-")))
        except (OperationalError, ProgrammingError) as exc:
            raise click.ClickException(
                f"the database is not ready ({exc.orig}); run: flask --app bot db upgrade"
            ) from None
        click.echo(f"bot> {outcome.reply}" if outcome.reply else f"bot> (no reply: {outcome.kind})")
        click.echo()
