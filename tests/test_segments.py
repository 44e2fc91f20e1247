from bot.segments import count_segments, is_gsm7, to_plain


def test_empty_text():
    assert count_segments("").segments == 0


def test_gsm7_single_and_multipart_limits():
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 161).segments == 2
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3
    assert count_segments("a" * 160).encoding == "GSM-7"


def test_extension_characters_count_twice():
    assert count_segments("[" * 80).units == 160
    assert count_segments("[" * 80).segments == 1
    assert count_segments("[" * 81).segments == 2


def test_one_curly_quote_switches_to_ucs2():
    text = "Don\u2019t " + "a" * 64  # 70 characters
    count = count_segments(text)
    assert count.encoding == "UCS-2"
    assert count.segments == 1
    assert count_segments(text + "a").segments == 2
    assert count_segments("a" * 160).segments < count_segments("\u2019" + "a" * 159).segments


def test_emoji_counts_two_utf16_units():
    assert count_segments("\U0001f600").units == 2


def test_gsm7_letters_of_spanish():
    assert is_gsm7("Se habla Español ¿Qué? ¡Sí!") is False  # á and í are not GSM-7
    assert is_gsm7("Se habla Español ¿Que? ¡Si!") is True


def test_to_plain():
    assert to_plain("\u201cDon\u2019t\u201d \u2013 ok\u2026") == '"Don\'t" - ok...'
    assert is_gsm7(to_plain("\u2018a\u2019 \u2014 b"))
