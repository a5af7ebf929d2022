"""What the commands share: settings, the engine, and argument types."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.knowledge import Site


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Path] = {}
    if args.db:
        overrides["db"] = Path(args.db)
    if args.sites:
        overrides["sites"] = Path(args.sites)
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)


def _engine(settings: Settings):
    from bot.app import build_engine

    return build_engine(settings)


def _port(text: str) -> int:
    """argparse type for --port: 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def _duration(text: str) -> timedelta:
    """argparse type for --expires: 30d, 12h, 90m, 2w."""
    from bot.links import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _find_site(sites: list[Site], site_id: str, path: Path) -> Site | None:
    """The site with this id, or None after printing which ids the sites file has."""
    for site in sites:
        if site.id == site_id:
            return site
    known = ", ".join(site.id for site in sites) or "none"
    print(f"error: no site '{site_id}' in {path} (sites there: {known})", file=sys.stderr)
    return None


def _check_suffix(
    path: str | None, allowed: tuple[str, ...], what: str, force: bool = False
) -> str | None:
    """A message if an output file has the wrong suffix, its folder is missing, or it
    exists already (a printed poster is easy to overwrite by mistake; --force allows it)."""
    if path is None:
        return None
    target = Path(path)
    if target.suffix.lower() not in allowed:
        return f"{path}: {what} file must end in {' or '.join(allowed)}"
    if not target.parent.is_dir():
        return f"{path}: the folder {target.parent} does not exist"
    if target.exists() and not force:
        return f"{path} exists already; use --force to replace it"
    return None
