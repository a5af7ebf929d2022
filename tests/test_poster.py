"""bot/poster.py and knowledge/poster.yml: QR codes, the A4 poster in SVG and PDF, its words."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pypdf
import pytest
from pydantic import ValidationError

from bot.knowledge import Knowledge
from bot.language import LanguageChecker
from bot.poster import (
    PAGE_W,
    PT_PER_MM,
    QR_SIZE,
    SITE_KINDS,
    Poster,
    PosterWording,
    load_poster_words,
    qr_matrix,
    write_qr,
)
from bot.settings import PROJECT_DIR
from bot.yamlfiles import ContentError

POSTER_YML = PROJECT_DIR / "knowledge" / "poster.yml"
URL = "https://t.me/MutualAidBot?start=AQApKqDgCNjCr2sugykcCr4p_XANX-uxgi03oJHMWhmrYJ1A3P5D"
CODE = "ADMS-22KV"
SVG_NS = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def poster(kind: str = "gp_practice", site_name: str = "Riverside Surgery") -> Poster:
    words = load_poster_words(POSTER_YML).for_kind(kind)
    return Poster(words, URL, CODE, "t.me/MutualAidBot", site_name)


def wording(**changes: str) -> dict[str, str]:
    data = load_poster_words(POSTER_YML).for_kind("probation").model_dump()
    return data | changes


# The words


def test_there_is_one_wording_per_kind_of_site():
    words = load_poster_words(POSTER_YML)
    assert sorted(w.kind for w in words.posters) == sorted(SITE_KINDS)


def test_the_words_are_plain_and_never_push():
    knowledge = Knowledge(PROJECT_DIR / "knowledge")
    checker = LanguageChecker(knowledge.language)
    for words in load_poster_words(POSTER_YML).posters:
        for field in ("heading", "invitation", "choice", "code_line", "open_line", "privacy"):
            text = getattr(words, field)
            assert checker.framing(text) == [], (words.kind, field)
            assert not re.search(r"\b(must|have to|mandatory)\b", text, re.IGNORECASE)
        body = f"{words.invitation} {words.choice} {words.privacy}"
        assert checker.grade(body) <= knowledge.language.max_grade, words.kind
        assert "your choice" in body


def test_the_probation_words_say_it_is_a_choice_and_nothing_is_shared():
    words = load_poster_words(POSTER_YML).for_kind("probation")
    assert "your choice" in words.choice
    assert "unless you choose" in words.choice


@pytest.mark.parametrize(
    "changes",
    [
        {"choice": "You must go to a group. Nothing is shared unless you choose. Your choice."},
        {"invitation": "Going to a group is mandatory for everyone on probation here, sorry."},
        {"choice": "You have to try it. It's your choice and unless you choose, nothing."},
        {"choice": "Going to a group is your choice. We tell your officer about it."},
        {
            "invitation": "Want to know about free support groups? Scan to chat.",
            "choice": "Nothing about you is shared unless you choose.",
        },
        {"open_line": "Open the chat on Telegram"},
        {"kind": "prison"},
    ],
)
def test_pushing_or_incomplete_words_are_refused(changes: dict[str, str]):
    with pytest.raises(ValidationError):
        PosterWording.model_validate(wording(**changes))


def test_a_bad_poster_file_names_the_line_and_field(tmp_path: Path):
    text = POSTER_YML.read_text(encoding="utf-8").replace(
        "Ask as much or as little as you like.", "You must go."
    )
    bad = tmp_path / "poster.yml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_poster_words(bad)
    message = str(caught.value)
    assert "posters.0.choice" in message
    assert f"{bad}:" in message
    assert "must" in message
    assert caught.value.line is not None


def test_a_poster_file_needs_every_kind(tmp_path: Path):
    text = POSTER_YML.read_text(encoding="utf-8").split("  - kind: probation")[0]
    bad = tmp_path / "poster.yml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError, match="no wording for: probation"):
        load_poster_words(bad)


# QR codes


def test_qr_png(tmp_path: Path):
    target = tmp_path / "qr.png"
    write_qr(URL, target)
    assert target.read_bytes().startswith(PNG_SIGNATURE)


def test_qr_svg(tmp_path: Path):
    target = tmp_path / "qr.SVG"
    write_qr(URL, target)
    root = ET.parse(target).getroot()
    assert root.tag == f"{SVG_NS}svg"


def test_qr_needs_a_known_suffix(tmp_path: Path):
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        write_qr(URL, tmp_path / "qr.jpg")


# The poster


def svg_text(root: ET.Element) -> str:
    return " ".join("".join(el.itertext()) for el in root.iter(f"{SVG_NS}text"))


def matrix_from_runs(runs: list[tuple[float, float, float]], size: int) -> list[list[bool]]:
    """Rebuild a module matrix from (column, row, length) runs."""
    matrix = [[False] * size for _ in range(size)]
    for col, row, length in runs:
        for c in range(round(col), round(col + length)):
            matrix[round(row)][c] = True
    return matrix


@pytest.mark.parametrize("kind", SITE_KINDS)
def test_poster_svg(kind: str):
    made = poster(kind)
    root = ET.fromstring(made.svg())
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == "0 0 210 297"
    assert (root.get("width"), root.get("height")) == ("210mm", "297mm")
    text = svg_text(root)
    assert CODE in text
    assert "No QR? Type this code in the chat" in text
    assert "t.me/MutualAidBot" in text
    assert "Riverside Surgery" in text
    squashed = " ".join(text.split())
    for field in ("invitation", "choice", "privacy"):
        assert " ".join(getattr(made.words, field).split()) in squashed


def test_poster_svg_draws_the_qr_code():
    root = ET.fromstring(poster().svg())
    path = root.find(f"{SVG_NS}g/{SVG_NS}path").get("d")
    runs = [
        (float(c), float(r), float(n))
        for c, r, n in re.findall(r"M([\d.]+) ([\d.]+)h([\d.]+)v1h-[\d.]+z", path)
    ]
    expected = qr_matrix(URL)
    assert matrix_from_runs(runs, len(expected)) == expected


def test_poster_svg_escapes_markup():
    root = ET.fromstring(poster(site_name="Smith & <Jones> Surgery").svg())
    assert "Smith & <Jones> Surgery" in svg_text(root)


def _read_pdf(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


@pytest.mark.parametrize("kind", SITE_KINDS)
def test_poster_pdf(kind: str):
    made = poster(kind)
    reader = _read_pdf(made.pdf())
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert [round(float(v), 2) for v in page.mediabox] == [0, 0, 595.28, 841.89]
    shown = " ".join(page.extract_text().split())
    assert CODE in shown
    assert "No QR? Type this code in the chat:" in shown
    assert "Riverside Surgery" in shown
    for field in ("invitation", "choice", "privacy"):
        assert " ".join(getattr(made.words, field).split()) in shown
    fonts = {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any(name.endswith("DejaVuSansBold") for name in fonts), fonts  # embedded
    assert reader.metadata.title.endswith("Riverside Surgery")


def test_poster_pdf_draws_the_qr_code():
    made = poster()
    page = _read_pdf(made.pdf()).pages[0]
    content = page.get_contents().get_data().decode("latin-1")
    expected = qr_matrix(URL)
    module = QR_SIZE / len(expected) * PT_PER_MM
    found = re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) -?[\d.]+ re", content)
    rects = [tuple(map(float, m)) for m in found]
    x0 = (PAGE_W - QR_SIZE) / 2 * PT_PER_MM
    # The PDF's lines wrap by DejaVu's widths, so its QR code sits where the PDF put it:
    # the first dark row is row 4, after the quiet zone (y is each square's top edge).
    top = max(y for _, y, _ in rects) + 4 * module
    runs = [((x - x0) / module, (top - y) / module, w / module) for x, y, w in rects]
    assert matrix_from_runs(runs, len(expected)) == expected


def test_poster_pdf_prints_any_character_as_itself():
    name = "St Mary’s (North) \\ East – Łódź"
    shown = _read_pdf(poster(site_name=name).pdf()).pages[0].extract_text()
    assert name in shown


def test_poster_write_chooses_the_format_by_suffix(tmp_path: Path):
    made = poster()
    made.write(tmp_path / "poster.svg")
    made.write(tmp_path / "poster.PDF")
    ET.parse(tmp_path / "poster.svg")
    assert (tmp_path / "poster.PDF").read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match=r"\.svg or \.pdf"):
        made.write(tmp_path / "poster.png")
