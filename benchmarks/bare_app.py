"""The stack's limit: a bare Flask app that answers every text with a fixed TwiML reply."""

from flask import Flask, Response

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Office hours: Mon 10am-12:30pm'
    "</Message></Response>"
)


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/sms")
    def sms():
        return Response(TWIML, mimetype="text/xml")

    return app
