"""Staff commands in the chat, as an interceptor (bot/engine/interceptors.py).

``/staff CODE`` enrols a member of staff for a site; then ``/link`` (a link for posters,
valid a year), ``/clientlink`` (a single-use link for one person, a day) and ``/stats``
(counts, never people). To anyone not enrolled these commands look like any unknown
command, so nothing tells a visitor that they exist.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

from bot.engine.interceptors import Intercepted
from bot.engine.turn import BotReply
from bot.links import LinkService
from bot.poster import make_qr
from bot.staff import StaffService, format_stats

STAFF_LINK_DAYS = 365
CLIENT_LINK_HOURS = 24
_STAFF = re.compile(r"^/staff(?:@\w+)?\s+(?P<code>[A-Za-z0-9 -]{4,40})$", re.IGNORECASE)
_STAFF_ONLY = re.compile(r"^/(?P<command>link|clientlink|stats)(?:@\w+)?$", re.IGNORECASE)


def qr_png(data: str) -> bytes:
    """A QR code of the data as PNG bytes, for staff to show or print."""
    buffer = io.BytesIO()
    make_qr(data).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


class StaffCommands:
    """Enrolment and the staff-only commands."""

    def __init__(self, staff: StaffService, links: LinkService) -> None:
        self.staff = staff
        self.links = links

    def is_staff(self, conversation_id: str) -> bool:
        """Whether this conversation is an enrolled member of staff."""
        return self.staff.site_of(conversation_id) is not None

    def forget(self, conversation_id: str) -> None:
        """/forget: the enrolment goes (a staff lockout stays: bot/staff.py)."""
        self.staff.forget(conversation_id)

    def intercept(self, message: Intercepted) -> list[BotReply] | None:
        """Staff enrolment and staff-only commands; None means: an ordinary message."""
        enrol = _STAFF.match(message.text)
        if enrol:
            site = self.staff.enrol(message.conversation_id, enrol.group("code"))
            if site is None:
                return None  # a wrong code looks like any message the bot does not know
            return message.reply("utter_staff_enrolled", site_name=site.name)
        command = _STAFF_ONLY.match(message.text)
        if not command:
            return None
        site = self.staff.site_of(message.conversation_id)
        if site is None:
            return None  # nothing tells a non-staff person that these commands exist
        name = command.group("command").lower()
        if name == "stats":
            stats = format_stats(self.staff.stats(site.id), site.name)
            return message.reply("utter_staff_stats", stats=stats)
        single = name == "clientlink"
        expires = timedelta(hours=CLIENT_LINK_HOURS) if single else timedelta(days=STAFF_LINK_DAYS)
        issued = self.links.issue(site.id, expires, single_use=single)
        url = self.links.public_link(issued.payload)
        replies = message.reply(
            "utter_staff_clientlink" if single else "utter_staff_link",
            site_name=site.name,
            url=url,
            code=issued.code,
            expires=issued.expires_at.strftime("%d %B %Y, %H:%M UTC"),
        )
        if replies:
            replies[0].image = qr_png(url)
        return replies
