"""Per-key locks: one message at a time per chat, and no lock kept once a chat is idle."""

from __future__ import annotations

import asyncio

from bot.keyed_locks import KeyedLocks


async def test_one_key_runs_in_order_and_the_map_empties():
    locks = KeyedLocks()
    order: list[str] = []

    async def work(name: str, pause: float) -> None:
        async with locks.hold("chat"):
            order.append(f"{name} in")
            await asyncio.sleep(pause)
            order.append(f"{name} out")

    await asyncio.gather(work("a", 0.02), work("b", 0))
    assert order == ["a in", "a out", "b in", "b out"]
    assert len(locks) == 0


async def test_different_keys_do_not_wait_for_each_other():
    locks = KeyedLocks()
    inside = asyncio.Event()

    async def first() -> None:
        async with locks.hold("one"):
            await asyncio.wait_for(inside.wait(), timeout=1)

    async def second() -> None:
        async with locks.hold("two"):
            inside.set()

    await asyncio.gather(first(), second())
    assert len(locks) == 0


async def test_a_failing_holder_releases_its_key():
    locks = KeyedLocks()
    try:
        async with locks.hold("chat"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert len(locks) == 0
