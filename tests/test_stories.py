"""Run tests/test_stories.yml through the engine, Rasa test-story style.

For each user step: the intent of the message and the actions the bot then runs must match
the story; slot_was_set and active_loop steps check the tracker after that turn; and every
reply passes the framing check (knowledge/language.yml) at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import Knowledge
from bot.language import LanguageChecker
from bot.settings import PROJECT_DIR
from bot.training_data import (
    ActionStep,
    LoopStep,
    SlotStep,
    Story,
    UserStep,
    load_stories,
    slot_pairs,
)

STORIES = load_stories(PROJECT_DIR / "tests" / "test_stories.yml").stories
CHECKER = LanguageChecker(Knowledge(PROJECT_DIR / "knowledge").language)


def _turns(story: Story) -> list[tuple[UserStep, list]]:
    turns: list[tuple[UserStep, list]] = []
    for step in story.steps:
        if isinstance(step, UserStep):
            turns.append((step, []))
        elif turns:
            turns[-1][1].append(step)
        else:
            raise AssertionError(f"story '{story.story}' must start with a user step")
    return turns


@pytest.mark.parametrize("story", STORIES, ids=[s.story for s in STORIES])
async def test_story(engine, story: Story, tmp_path: Path) -> None:
    chat_id = "story-tester"
    conversation = engine.conversation_id("test", chat_id)
    for user, after in _turns(story):
        replies = await engine.handle("test", chat_id, user.user or "")
        intent, actions = engine.recorded_turns[conversation]
        where = f"after {user.user!r}"
        assert intent == user.intent, f"{where}: intent {intent}, story says {user.intent}"
        expected = [s.action for s in after if isinstance(s, ActionStep)]
        assert actions == expected, f"{where}: actions {actions}, story says {expected}"
        state = engine.store.load(conversation)
        for step in after:
            if isinstance(step, SlotStep):
                for name, value, given in slot_pairs(step):
                    current = state.slots.get(name)
                    assert current == value if given else current is not None, (
                        f"{where}: slot {name} is {current!r}"
                    )
        loops = [s for s in after if isinstance(s, LoopStep)]
        if loops:
            assert state.active_loop == loops[-1].active_loop, f"{where}: active loop"
        assert replies, f"{where}: the bot said nothing"
        for reply in replies:
            texts = [reply.text] + [b["title"] for b in reply.buttons]
            for text in texts:
                assert not CHECKER.framing(text), f"{where}: {CHECKER.framing(text)}"
