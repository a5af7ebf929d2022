"""The `link`, `sites` and `staff invite` commands, run as a separate process."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pypdf
import pytest

from bot.knowledge import load_sites
from bot.links import LinkError, LinkService
from bot.pseudonym import load_or_create_secret
from bot.settings import PROJECT_DIR
from bot.staff import StaffService
from bot.store import TrackerStore

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).with_name("mutual-aid-bot")
EXAMPLE_SITES = PROJECT_DIR / "knowledge" / "sites.example.yml"
URL = re.compile(r"https://t\.me/MutualAidBot\?start=(?P<payload>[A-Za-z0-9_-]{1,64})$", re.M)
CODE = re.compile(r"Short code: (?P<code>[A-Z2-9]{4}-[A-Z2-9]{4})")
GOOD_SITES = """\
sites:
  - id: riverside
    kind: gp_practice
    name: Riverside Surgery
    referral_form_url: https://forms.example.org/riverside
    prefill:
      interests: entry.111
      contact_method: entry.222
      best_time: entry.333
  - id: northgate-probation
    kind: probation
    name: Northgate Probation Office
    referral_form_url: https://probation.example.net/form?x=1
"""


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MUTUAL_AID_")}
    full_env |= env or {}
    return subprocess.run(
        [str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=PROJECT_DIR,
        timeout=120,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def assert_clean_failure(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "Traceback" not in done.stdout
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def service(data_dir: Path, sites: Path = EXAMPLE_SITES) -> tuple[LinkService, TrackerStore]:
    store = TrackerStore(data_dir / "bot.db")
    key = load_or_create_secret(data_dir / "secret.key")
    return LinkService(store, key, load_sites(sites)), store


def write_sites(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.yml"
    path.write_text(text, encoding="utf-8")
    return path


# link


def test_link_prints_a_telegram_link_with_a_valid_payload_and_a_code(data_dir: Path):
    out = ok(run("link", "riverside", "--data-dir", data_dir))
    payload = URL.search(out).group("payload")
    code = CODE.search(out).group("code")
    assert "Riverside Surgery" in out
    assert "Web chat link" not in out
    assert "Expires:" in out
    links, store = service(data_dir)
    try:
        info = links.verify(payload)
        assert info.site.id == "riverside"
        assert info.single_use is False
        assert timedelta(days=29) < info.expires_at - links._now() <= timedelta(days=30)
        assert links.resolve_code(code.lower()) == payload
    finally:
        store.close()


def test_link_json_shape(data_dir: Path):
    done = run("--data-dir", data_dir, "link", "northgate-probation", "--json", "--expires", "2w")
    data = json.loads(ok(done))
    assert {"payload", "url", "web_url", "code"} <= set(data)
    assert data["url"] == f"https://t.me/MutualAidBot?start={data['payload']}"
    assert data["web_url"] is None
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", data["code"])
    assert data["site_id"] == "northgate-probation"
    assert data["single_use"] is False
    links, store = service(data_dir)
    try:
        info = links.verify(data["payload"])
        assert info.expires_at.isoformat() == data["expires_at"]
        assert links.resolve_code(data["code"]) == data["payload"]
    finally:
        store.close()


def test_link_uses_the_configured_username_and_web_chat(data_dir: Path):
    env = {
        "MUTUAL_AID_TELEGRAM_USERNAME": "ExampleHelpBot",
        "MUTUAL_AID_WEB_CHAT_URL": "https://chat.example.org/talk",
    }
    data = json.loads(ok(run("link", "riverside", "--json", "--data-dir", data_dir, env=env)))
    assert data["url"] == f"https://t.me/ExampleHelpBot?start={data['payload']}"
    assert data["web_url"] == f"https://chat.example.org/talk?start={data['payload']}"
    text = ok(run("link", "riverside", "--data-dir", data_dir, env=env))
    assert "Web chat link: https://chat.example.org/talk?start=" in text


def test_single_use_link_works_once(data_dir: Path):
    done = run("link", "riverside", "--single-use", "--json", "--data-dir", data_dir)
    data = json.loads(ok(done))
    assert data["single_use"] is True
    links, store = service(data_dir)
    try:
        assert links.verify(data["payload"]).single_use is True
        with pytest.raises(LinkError) as caught:
            links.verify(data["payload"])
        assert caught.value.reason == "reused"
    finally:
        store.close()
    text = ok(run("link", "riverside", "--single-use", "--data-dir", data_dir))
    assert "Single use" in text


def test_link_writes_qr_codes_and_posters(tmp_path: Path, data_dir: Path):
    for qr, poster in (("qr.png", "poster.svg"), ("qr.svg", "poster.pdf")):
        out = ok(
            run(
                "link",
                "riverside",
                "--qr",
                tmp_path / qr,
                "--poster",
                tmp_path / poster,
                "--data-dir",
                data_dir,
            )
        )
        assert str(tmp_path / qr) in out
        assert str(tmp_path / poster) in out
    code = CODE.search(out).group("code")
    assert (tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    ET.parse(tmp_path / "qr.svg")
    svg = (tmp_path / "poster.svg").read_text(encoding="utf-8")
    ET.fromstring(svg)
    assert "No QR? Type this code in the chat" in svg
    pdf = (tmp_path / "poster.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    shown = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert code in shown


def test_probation_poster_has_the_probation_words(tmp_path: Path, data_dir: Path):
    target = tmp_path / "poster.svg"
    ok(run("link", "northgate-probation", "--poster", target, "--data-dir", data_dir))
    text = " ".join(target.read_text(encoding="utf-8").split())
    assert "unless you choose" in text
    assert "Northgate Probation Office" in text


@pytest.mark.parametrize(
    ("option", "name", "message"),
    [
        ("--qr", "qr.jpg", ".png or .svg"),
        ("--poster", "poster.png", ".svg or .pdf"),
        ("--poster", "missing/poster.svg", "does not exist"),
    ],
)
def test_link_refuses_bad_output_files(
    tmp_path: Path, data_dir: Path, option: str, name: str, message: str
):
    done = run("link", "riverside", option, tmp_path / name, "--data-dir", data_dir)
    assert_clean_failure(done, message)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize(("option", "name"), [("--qr", "qr.png"), ("--poster", "poster.svg")])
def test_link_never_overwrites_a_file_without_force(
    tmp_path: Path, data_dir: Path, option: str, name: str
):
    target = tmp_path / name
    target.write_bytes(b"the printed one")
    done = run("link", "riverside", option, target, "--data-dir", data_dir)
    assert_clean_failure(done, "exists already", "--force")
    assert target.read_bytes() == b"the printed one"
    ok(run("link", "riverside", option, target, "--force", "--data-dir", data_dir))
    assert target.read_bytes() != b"the printed one"


def test_link_to_an_unknown_site_fails_clearly(data_dir: Path):
    done = run("link", "nowhere", "--data-dir", data_dir)
    assert_clean_failure(done, "no site 'nowhere'", "riverside", "northgate-probation")
    assert done.stdout == ""


@pytest.mark.parametrize("expires", ["3x", "0d", "30", "1y"])
def test_link_with_a_bad_duration_fails_clearly(data_dir: Path, expires: str):
    done = run("link", "riverside", "--expires", expires, "--data-dir", data_dir)
    assert_clean_failure(done, "--expires")


def test_link_with_a_bad_sites_file_fails_clearly(tmp_path: Path, data_dir: Path):
    sites = write_sites(tmp_path, GOOD_SITES.replace("https://forms", "http://forms"))
    done = run("link", "riverside", "--sites", sites, "--data-dir", data_dir)
    assert_clean_failure(done, f"{sites}:5:", "referral_form_url", "https://")
    missing = run("link", "riverside", "--sites", tmp_path / "nope.yml", "--data-dir", data_dir)
    assert_clean_failure(missing, "nope.yml", "file not found")


def test_link_from_a_custom_sites_file(tmp_path: Path, data_dir: Path):
    sites = write_sites(tmp_path, GOOD_SITES)
    done = run("link", "riverside", "--json", "--sites", sites, "--data-dir", data_dir)
    payload = json.loads(ok(done))["payload"]
    links, store = service(data_dir, sites)
    try:
        assert links.verify(payload).site.prefill["interests"] == "entry.111"
    finally:
        store.close()


# sites


def test_sites_list(tmp_path: Path, data_dir: Path):
    sites = write_sites(tmp_path, GOOD_SITES)
    out = ok(run("sites", "list", "--sites", sites, "--data-dir", data_dir))
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "KIND", "NAME", "FORM", "HOST"]
    assert lines[1].split() == [
        "riverside",
        "gp_practice",
        "Riverside",
        "Surgery",
        "forms.example.org",
    ]
    assert "northgate-probation" in lines[2]
    assert "probation.example.net" in lines[2]
    example = ok(run("--data-dir", data_dir, "sites", "list"))
    assert "riverside" in example


def test_sites_check_passes_a_good_file(tmp_path: Path, data_dir: Path):
    sites = write_sites(tmp_path, GOOD_SITES)
    out = ok(run("sites", "check", "--sites", sites, "--data-dir", data_dir))
    assert str(sites) in out
    assert "2 site(s)" in out
    assert "valid" in out
    assert "1 GP practice" in out
    assert "1 probation office" in out


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("https://forms.example.org/riverside", "http://x.example.org/a", ":5: sites.0.refer"),
        ("kind: probation", "kind: prison", ":11: sites.1.kind"),
        ("id: northgate-probation", "id: riverside", ":10: sites.1.id"),
        ("      best_time: entry.333", "      nhs_number: entry.333", ":9: sites.0.prefill"),
        ("entry.222", "a b", ":8: sites.0.prefill.contact_method"),
        ("    name: Riverside Surgery\n", "", "sites.0.name"),
        ("sites:\n", "sights:\n", ":1: sights"),
    ],
)
def test_sites_check_names_the_file_line_and_field(
    tmp_path: Path, data_dir: Path, old: str, new: str, where: str
):
    assert old in GOOD_SITES
    sites = write_sites(tmp_path, GOOD_SITES.replace(old, new, 1))
    done = run("sites", "check", "--sites", sites, "--data-dir", data_dir)
    assert_clean_failure(done, f"{sites}", where)
    assert done.stdout == ""


def test_sites_check_reports_bad_yaml(tmp_path: Path, data_dir: Path):
    sites = write_sites(tmp_path, GOOD_SITES + "  - id: [unclosed\n")
    done = run("sites", "check", "--sites", sites, "--data-dir", data_dir)
    assert_clean_failure(done, f"{sites}:", "not valid YAML")


def test_sites_needs_a_subcommand(data_dir: Path):
    assert_clean_failure(run("sites", "--data-dir", data_dir), "usage")


# staff invite


def test_staff_invite_prints_a_code_that_enrols_once(data_dir: Path):
    out = ok(run("staff", "invite", "riverside", "--expires", "3d", "--data-dir", data_dir))
    code = re.search(r"/staff (\S+) to the bot", out).group(1)
    assert f"Staff code for Riverside Surgery (riverside): {code}" in out
    assert "3 day(s)" in out
    store = TrackerStore(data_dir / "bot.db")
    try:
        staff = StaffService(
            store, load_or_create_secret(data_dir / "secret.key"), load_sites(EXAMPLE_SITES)
        )
        assert staff.enrol("conversation-a", code).id == "riverside"
        assert staff.enrol("conversation-b", code) is None
        stored = list(store.db.table("staff_invites").rows)
        assert len(stored) == 1
        assert code.replace("-", "") not in json.dumps(stored)
    finally:
        store.close()


def test_staff_invite_for_an_unknown_site_fails_clearly(data_dir: Path):
    done = run("staff", "invite", "nowhere", "--data-dir", data_dir)
    assert_clean_failure(done, "no site 'nowhere'")


def test_staff_invite_with_a_bad_duration_fails_clearly(data_dir: Path):
    done = run("staff", "invite", "riverside", "--expires", "soon", "--data-dir", data_dir)
    assert_clean_failure(done, "--expires", "not a duration")
