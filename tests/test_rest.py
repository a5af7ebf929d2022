"""Rasa's REST channel contract without HTTP (bot/channels/rest.py)."""

from __future__ import annotations

import json

import pytest

from bot.channels.rest import MAX_MESSAGE, RestRequestError, answer, parse_request


def test_a_good_request_is_parsed_with_its_metadata():
    body = json.dumps({"sender": "abc", "message": "hi", "metadata": {"k": 1}, "x": 2}).encode()
    request = parse_request(body)
    assert (request.sender, request.message, request.metadata) == ("abc", "hi", {"k": 1})


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"nope", 400, "not valid JSON"),
        (b"1e999999", 400, "JSON object"),
        (b"9" * 5000, 400, "not valid JSON"),
        (b"null", 400, "JSON object"),
        (b'{"sender": "a", "message": null}', 400, "message"),
        (b'{"sender": "   ", "message": "x"}', 400, "sender"),
        (b'{"sender": "a", "message": "x", "metadata": [1]}', 400, "metadata"),
        (json.dumps({"sender": "a", "message": "x" * (MAX_MESSAGE + 1)}).encode(), 413, "longer"),
    ],
)
def test_bad_requests_say_what_is_wrong(body: bytes, status: int, words: str):
    with pytest.raises(RestRequestError) as caught:
        parse_request(body)
    assert caught.value.status == status
    assert words in caught.value.reason


async def test_the_answer_is_in_the_rest_shape(engine):
    request = parse_request(b'{"sender": "rest-1", "message": "hello"}')
    messages = await answer(engine, request)
    assert messages
    assert all(m["recipient_id"] == "rest-1" and m["text"] for m in messages)
