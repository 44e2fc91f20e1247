import pytest

from bot.sms.compliance import Keyword, classify


@pytest.mark.parametrize(
    "body",
    ["STOP", "stop", " Stop. ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
     "OPTOUT", "opt out", "Opt-Out", "stop please", "please stop texting me", "STOP!!!",
     "unsubscribe me", "stop my reminders", "cancel my reminders", "stop sending me reminders",
     "stop the daily reminders please", "stpo", "sotp", "unsubcribe", "unsuscribe",
     # Consent revoked in the patient's own words (any reasonable means):
     "no more texts please", "please don't text me anymore", "can you stop texting me",
     "take me off your list", "remove my number from this list", "leave me alone",
     "wrong number", "You have the wrong number", "how do I unsubscribe", "how do i opt out",
     "Do not message me again", "stop sending me these", "opt me out",
     # Spanish:
     "ALTO", "Parar", "para", "basta", "cancelar", "no mas mensajes", "no me envie mas"],
)  # fmt: skip
def test_opt_out(body):
    assert classify(body)[0] == Keyword.OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "START",
        "unstop",
        "Yes",
        "YES!",
        "yes please",
        "Yes, thank you",
        "yes i agree",
        "Si",
        "si por favor",
    ],
)
def test_opt_in(body):
    assert classify(body)[0] == Keyword.OPT_IN


@pytest.mark.parametrize("body", ["HELP", "help", "Info", "help?", "AYUDA"])
def test_help(body):
    assert classify(body)[0] == Keyword.HELP


@pytest.mark.parametrize(
    "body",
    ["how do I stop the pain", "cancel my appointment", "help me with my back",
     "when does the stretch end", "yes I did the cat camel", "info about hours", "", "stopper",
     "quit smoking tips", "change my reminder time", "should i stop my reminders", "post",
     "spot", "tops", "stoop", "should i stop the stretch if it hurts", "i quit smoking",
     "when do i stop the exercises", "no more pain after the stretches",
     "my number changed", "what number do i call", "i did the wrong stretch",
     "yes but my back hurts", "yes what are your hours", "ejercicios para la espalda",
     "para que sirve el gato camello", "no more pain", "i never texted this number before",
     "i dont text much, can someone call me"],
)  # fmt: skip
def test_not_keywords(body):
    assert classify(body) is None


def test_opt_out_type_field_wins():
    assert classify("anything", "STOP")[0] == Keyword.OPT_OUT
    assert classify("anything", "START")[0] == Keyword.OPT_IN
    assert classify("anything", "HELP")[0] == Keyword.HELP
    assert classify("hours", "") is None


def test_keyword_recorded_is_what_was_texted():
    assert classify("Please STOP")[1] == "stop"
    assert classify("UNSUBSCRIBE")[1] == "unsubscribe"


# A carriers' keyword standing as its own word in a short text opts out...
@pytest.mark.parametrize(
    "body",
    ["no thanks, STOP", "no gracias, STOP", "No thanks. Stop", "no thanks STOP", "ok stop",
     "I said STOP!", "thanks but STOP", "No gracias. ALTO", "Hi, STOP please", "no, stop",
     "Ok thanks. Stop", "STOP - wrong person", "Got it. Quit", "ok. cancel", "Nope. STOP.",
     "stop!!! seriously", "STOP STOP", "Please... STOP", "no gracias, basta", "Ya basta",
     "STOP (Maria)", "unsubscribe, thanks", "Thanks, unsubscribe me"],
)  # fmt: skip
def test_a_keyword_on_its_own_in_a_sentence_opts_out(body):
    assert classify(body)[0] == Keyword.OPT_OUT, body


# ...unless the text is plainly about something else.
@pytest.mark.parametrize(
    "body",
    ["should I stop the stretch?", "stop, it hurts", "Cancel, I can't make it tomorrow",
     "can I stop now?", "stop. my back is killing me", "Great, thanks! I'll stop by tomorrow",
     "thanks, see you at the end of the week", "When do I stop the exercises? thanks",
     "no, I will not stop doing them", "Ok, I'll stop the bridge", "end of the day works",
     "I quit my job so I have time for the exercises now, thanks",
     "stop, cancel my appointment for monday", "quit? no way, the stretches help",
     "no. stop. it hurts in my leg", "ok. can I cancel my appt?",
     "para mi espalda, gracias", "basta de dolor, que ejercicios hago"],
)  # fmt: skip
def test_a_keyword_in_a_text_about_something_else_does_not(body):
    assert classify(body) is None, body
