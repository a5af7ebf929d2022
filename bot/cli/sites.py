"""Commands for staff set-up: link (with QR codes and posters), sites, staff invite."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.cli.common import _check_suffix, _find_site, _settings


def cmd_link(args: argparse.Namespace) -> int:
    """Print a signed deep link for a site, with a short code; optionally a QR or poster."""
    from bot.knowledge import load_sites
    from bot.links import LinkService
    from bot.poster import Poster, load_poster_words, write_qr
    from bot.pseudonym import load_or_create_secret
    from bot.store import TrackerStore

    settings = _settings(args)
    sites = load_sites(settings.sites_path)
    site = _find_site(sites, args.site_id, settings.sites_path)
    if site is None:
        return 2
    for problem in (
        _check_suffix(args.qr, (".png", ".svg"), "a QR code", args.force),
        _check_suffix(args.poster, (".svg", ".pdf"), "a poster", args.force),
    ):
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    words = None
    if args.poster:
        words = load_poster_words(settings.knowledge_dir / "poster.yml").for_kind(site.kind)
    key = load_or_create_secret(settings.secret_path)
    store = TrackerStore(settings.db_path)
    try:
        links = LinkService(
            store,
            key,
            sites,
            telegram_username=settings.telegram_username,
            web_chat_url=str(settings.web_chat_url) if settings.web_chat_url else None,
        )
        issued = links.issue(site.id, args.expires, single_use=args.single_use)
    finally:
        store.close()
    payload, code = issued.payload, issued.code
    url, web_url = links.deep_link(payload), links.web_link(payload)
    # QR codes and posters point to the web chat when one is configured: it works for
    # everyone, with or without Telegram.
    public = links.public_link(payload)
    if args.qr:
        write_qr(public, Path(args.qr))
    if args.poster and words is not None:
        Poster(words, public, code, links.chat_address(), site.name).write(Path(args.poster))
    if args.json:
        print(
            json.dumps(
                {
                    "payload": payload,
                    "url": url,
                    "web_url": web_url,
                    "code": code,
                    "site_id": site.id,
                    "expires_at": issued.expires_at.isoformat(),
                    "single_use": issued.single_use,
                }
            )
        )
        return 0
    print(f"Site: {site.name} ({site.id})")
    print(f"Telegram link: {url}")
    if web_url:
        print(f"Web chat link: {web_url}")
    print(f"Short code: {code}  (if the chat opens without the link, type this code in it)")
    print(f"Expires: {issued.expires_at:%Y-%m-%d %H:%M} UTC")
    if issued.single_use:
        print("Single use: the link works for one person, once.")
    if args.qr:
        print(f"QR code: {args.qr}")
    if args.poster:
        print(f"Poster: {args.poster}")
        if issued.single_use:
            print(
                "note: a single-use link on a poster works for one person only.", file=sys.stderr
            )
    return 0


def cmd_sites_list(args: argparse.Namespace) -> int:
    """One line per site: id, kind, name and the referral form's host."""
    from bot.knowledge import load_sites

    settings = _settings(args)
    sites = load_sites(settings.sites_path)
    if not sites:
        print(f"No sites in {settings.sites_path}.")
        return 0
    rows = [("ID", "KIND", "NAME", "FORM HOST")] + [
        (site.id, site.kind, site.name, site.referral_form_url.host or "") for site in sites
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for site_id, kind, name, host in rows:
        print(f"{site_id:<{widths[0]}}  {kind:<{widths[1]}}  {name:<{widths[2]}}  {host}")
    return 0


def cmd_sites_check(args: argparse.Namespace) -> int:
    """Validate the sites file; the first problem names its file, line and field."""
    from bot.knowledge import load_sites

    settings = _settings(args)
    sites = load_sites(settings.sites_path)
    kinds = {"gp_practice": "GP practice", "probation": "probation office"}
    counts = ", ".join(
        f"{n} {label}{'s' if n != 1 else ''}"
        for kind, label in kinds.items()
        if (n := sum(site.kind == kind for site in sites))
    )
    summary = f" ({counts})" if counts else ""
    print(f"{settings.sites_path}: {len(sites)} site(s), all valid{summary}.")
    return 0


def cmd_staff_invite(args: argparse.Namespace) -> int:
    """Make a one-time enrolment code for a member of staff at a site."""
    from bot.knowledge import load_sites
    from bot.pseudonym import load_or_create_secret
    from bot.staff import StaffService
    from bot.store import TrackerStore

    settings = _settings(args)
    sites = load_sites(settings.sites_path)
    site = _find_site(sites, args.site_id, settings.sites_path)
    if site is None:
        return 2
    key = load_or_create_secret(settings.secret_path)
    store = TrackerStore(settings.db_path)
    try:
        code = StaffService(store, key, sites).invite(site.id, args.expires)
    finally:
        store.close()
    days = args.expires.total_seconds() / 86400
    lasts = f"{days:g} day(s)" if days >= 1 else f"{args.expires.total_seconds() / 3600:g} hour(s)"
    print(f"Staff code for {site.name} ({site.id}): {code}")
    print(f"To use it, the member of staff sends /staff {code} to the bot.")
    print(f"It works once and lasts {lasts}. It is stored only in a form that cannot be read")
    print("back, so it is shown this once: give it to them now.")
    return 0
