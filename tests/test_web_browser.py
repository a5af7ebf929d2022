"""The web chat page in a real browser: Playwright driving Debian's headless chromium through a
whole conversation, with axe-core checking accessibility.

Set-up (`make test` runs scripts/setup-browser): Debian's `chromium` package and axe-core
from npm (package-lock.json). Without them the test skips and says why, except under CI=true,
where a missing piece is a failure: CI must never pass without the browser test.
A screenshot of the finished conversation is saved in test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.channels.rest import CHANNEL
from bot.settings import PROJECT_DIR
from tests.web_server import Server

AXE = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_DIR / "test-artifacts"
# As this machine's notes advise: without the background-networking flags chromium keeps
# trying to reach Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    """The browser, or a skip (a failure under CI) saying what is missing."""
    missing = []
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        missing.append("Debian's chromium (apt-get install chromium)")
    if not AXE.is_file():
        missing.append("axe-core (npm ci)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        reason = "the browser test needs " + " and ".join(missing) + "; make test installs them"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    assert chromium
    return chromium


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    """A fresh page in headless chromium, failing on any script error or CSP violation."""
    chromium = _chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1024, "height": 900})
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.problems = problems
        yield page
        await browser.close()


async def _axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    # Evaluated through the browser's debugging protocol, which the page's CSP does not
    # govern, so the page itself keeps its strict policy.
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                 "wcag22aa", "best-practice"]},
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(" "))}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


async def _bot_messages(page: Any) -> list[str]:
    return await page.locator(".message.bot").all_inner_texts()


async def _wait_for_bot_text(page: Any, text: str, after: int = 0) -> None:
    """Wait until a bot message after the first ``after`` contains ``text``."""
    await page.wait_for_function(
        """([text, after]) => Array.from(document.querySelectorAll('.message.bot'))
               .slice(after).some(m => m.innerText.includes(text))""",
        arg=[text, after],
        timeout=20_000,
    )


async def _no_horizontal_scroll(page: Any) -> bool:
    return await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )


async def test_a_whole_conversation_in_a_real_browser(
    browser_page: Any, start_web: Callable[..., Any]
) -> None:
    page = browser_page
    server: Server = await start_web()
    payload = server.engine.links.make_payload("riverside", timedelta(days=1))

    # A staff link or QR poster: the page opens the site's chat, then drops the payload
    # from the address bar.
    await page.goto(f"{server.url}/?start={payload}")
    await _wait_for_bot_text(page, "Riverside")
    assert "start=" not in page.url
    sender = await page.evaluate("sessionStorage.getItem('mutual-aid-chat-id')")
    assert sender
    assert await page.evaluate("localStorage.length") == 0
    violations = await _axe_violations(page)
    assert not violations, violations

    # Buttons are real buttons, pressed with the keyboard.
    groups = page.get_by_role("button", name="What groups are there?").first
    await groups.focus()
    shown = len(await _bot_messages(page))
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "n => document.querySelectorAll('.message.bot').length > n", arg=shown, timeout=20_000
    )
    said = await page.locator(".message.user").last.inner_text()
    assert " ".join(said.split()) == "You said: What groups are there?"

    # A crisis, typed: emergency signposting comes first.
    shown = len(await _bot_messages(page))
    box = page.get_by_label("Your message")
    await box.fill("ive taken all my tablets and feel really strange")
    await box.press("Enter")
    await _wait_for_bot_text(page, "999", after=shown)
    first_reply = (await _bot_messages(page))[shown]
    assert "999" in first_reply
    assert await box.evaluate("el => el === document.activeElement")

    # The handoff: the referral form opens in a new tab, without the page as its opener.
    shown = len(await _bot_messages(page))
    await box.fill("can you refer me to the surgery")
    await box.press("Enter")
    await _wait_for_bot_text(page, "referral form", after=shown)
    await page.get_by_role("button", name="Yes, open the form").last.click()
    form_link = page.locator("a.link-button[href^='https://']").last
    await form_link.wait_for(timeout=20_000)
    assert "forms.example" in (await form_link.get_attribute("href") or "")
    assert await form_link.get_attribute("target") == "_blank"
    assert "noopener" in (await form_link.get_attribute("rel") or "")

    # Accessible with the conversation on the page, at a phone's width and at 200% zoom.
    violations = await _axe_violations(page)
    assert not violations, violations
    await page.set_viewport_size({"width": 360, "height": 740})
    assert await _no_horizontal_scroll(page)
    await page.set_viewport_size({"width": 512, "height": 450})  # 1024 x 900 at 200%
    assert await _no_horizontal_scroll(page)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.set_viewport_size({"width": 1024, "height": 900})
    await page.screenshot(path=str(ARTIFACTS / "web-chat.png"), full_page=True)

    # "Get help now" is always on the page, script or no script.
    await page.get_by_role("link", name="Get help now").click()
    assert await page.locator("#help").is_visible()
    assert "999" in await page.locator("#help").inner_text()

    # Delete this chat: the same erasure as /forget, then a new chat id.
    conversation = server.engine.conversation_id(CHANNEL, sender)
    assert server.engine.store.load(conversation) is not None
    await page.get_by_role("button", name="Delete this chat").click()
    await page.wait_for_function(
        "() => document.querySelectorAll('.message').length === 1", timeout=20_000
    )
    assert "deleted" in (await _bot_messages(page))[0]
    assert server.engine.store.load(conversation) is None
    assert await page.evaluate("sessionStorage.getItem('mutual-aid-chat-id')") != sender

    assert not page.problems, page.problems


async def test_the_page_copes_when_the_server_is_gone(
    browser_page: Any, start_web: Callable[..., Any]
) -> None:
    page = browser_page
    server: Server = await start_web()
    await page.goto(server.url + "/")
    await _wait_for_bot_text(page, "Hello")
    await page.route("**/webhooks/rest/webhook", lambda route: route.abort())
    box = page.get_by_label("Your message")
    await box.fill("what groups are there")
    await box.press("Enter")
    status = page.locator("#status")
    await status.filter(has_text="999").wait_for(timeout=20_000)
    page.problems.clear()  # the aborted request is reported on the console, as it should be


def test_the_screenshot_folder_is_not_committed() -> None:
    ignored = (PROJECT_DIR / ".gitignore").read_text(encoding="utf-8")
    assert "test-artifacts/" in ignored
    assert "node_modules/" in ignored
