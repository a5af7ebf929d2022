"""A first end-to-end check that the engine answers over its whole path."""

from tests.helpers import payloads, say, texts


async def test_start_list_and_details(engine):
    replies = await say(engine, "/start")
    assert "not a person" in texts(replies)
    assert "/list_options" in payloads(replies)
    replies = await say(engine, "/list_options")
    offered = payloads(replies)
    assert '/option_details{"option": "aa"}' in offered
    replies = await say(engine, '/option_details{"option": "aa"}')
    assert "Alcoholics Anonymous" in texts(replies)
