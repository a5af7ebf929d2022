"""QR codes (PNG, SVG) and a printable A4 poster (SVG, PDF) for a site's chat link.

The poster's words come from knowledge/poster.yml, one wording per kind of site. The PDF is
made with fpdf2 in DejaVu Sans (embedded, so any character prints as itself and lines are
broken by the font's real widths); the QR code is drawn as filled squares from segno's
matrix. The SVG names Helvetica and Arial and is laid out with Helvetica's widths.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import segno
from pydantic import Field, field_validator, model_validator

from bot.knowledge import Site, Strict
from bot.yamlfiles import FieldError, load_model, require_unique

SITE_KINDS: tuple[str, ...] = typing.get_args(Site.model_fields["kind"].annotation)

# Pushing words: going to a group is always the person's choice.
_COERCIVE = re.compile(
    r"\b(must|have to|has to|had to|need to|needs to|mandatory|compulsory|obligatory|"
    r"required|requirement|obliged|should|ought to|condition of)\b",
    re.IGNORECASE,
)


class PosterWording(Strict):
    """The words on one kind of site's poster."""

    kind: typing.Literal["gp_practice", "probation"]
    heading: str = Field(min_length=3, max_length=40)
    invitation: str = Field(min_length=20, max_length=170)
    choice: str = Field(min_length=10, max_length=170)
    code_line: str = Field(min_length=5, max_length=60)
    open_line: str = Field(min_length=8, max_length=60)
    privacy: str = Field(min_length=10, max_length=130)

    @field_validator("*")
    @classmethod
    def _not_pushing(cls, text: str) -> str:
        match = _COERCIVE.search(text)
        if match:
            raise ValueError(f'"{match.group(0)}" pushes people: say "you could" or "you can"')
        return text

    @field_validator("open_line")
    @classmethod
    def _has_chat(cls, text: str) -> str:
        if text.count("{chat}") != 1:
            raise ValueError("must contain {chat} once (the bot's address)")
        return text

    @model_validator(mode="after")
    def _says_choice(self) -> PosterWording:
        words = " ".join([self.heading, self.invitation, self.choice]).lower()
        if "your choice" not in words:
            raise FieldError(("choice",), 'say that it is "your choice"')
        if self.kind == "probation" and "unless you choose" not in words:
            raise FieldError(("choice",), 'say that nothing is shared "unless you choose"')
        return self


class PosterFile(Strict):
    """knowledge/poster.yml."""

    posters: list[PosterWording] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_per_kind(self) -> PosterFile:
        seen = require_unique([w.kind for w in self.posters], "posters", "kind", "kind")
        missing = [kind for kind in SITE_KINDS if kind not in seen]
        if missing:
            raise FieldError(("posters",), f"no wording for: {', '.join(missing)}")
        return self

    def for_kind(self, kind: str) -> PosterWording:
        """The wording for a kind of site."""
        return next(w for w in self.posters if w.kind == kind)


def load_poster_words(path: Path) -> PosterFile:
    """Load and validate knowledge/poster.yml."""
    return load_model(path, PosterFile)


# -- QR codes -------------------------------------------------------------------------------


def make_qr(data: str) -> segno.QRCode:
    """A QR code (never a micro QR) with medium error correction, for print."""
    return segno.make(data, error="m", micro=False)


def write_qr(data: str, path: Path, scale: int = 10) -> None:
    """Write a QR code of ``data`` as PNG or SVG, chosen by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"{path}: a QR code file must end in .png or .svg")
    make_qr(data).save(str(path), kind=suffix[1:], scale=scale, border=4)


def qr_matrix(data: str, border: int = 4) -> list[list[bool]]:
    """The QR code's modules, quiet zone included: True is dark."""
    return [[bool(v) for v in row] for row in make_qr(data).matrix_iter(scale=1, border=border)]


def _runs(row: list[bool]) -> list[tuple[int, int]]:
    """Horizontal runs of dark modules in one row: (start column, length)."""
    runs: list[tuple[int, int]] = []
    start = None
    for col, dark in enumerate([*row, False]):
        if dark and start is None:
            start = col
        elif not dark and start is not None:
            runs.append((start, col - start))
            start = None
    return runs


# -- Layout ---------------------------------------------------------------------------------

PAGE_W, PAGE_H = 210.0, 297.0  # A4 in millimetres
MARGIN = 20.0
QR_SIZE = 110.0
PT_PER_MM = 72 / 25.4

# Helvetica advance widths (per 1000 units of the font size), from the standard AFM files.
_WIDTH_TABLE = (
    (" !\"#$%&'()*+,-./", "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278"),
    ("0123456789:;<=>?@", "556 556 556 556 556 556 556 556 556 556 278 278 584 584 584 556 1015"),
    ("ABCDEFGHIJKLM", "667 667 722 722 667 611 778 722 278 500 667 556 833"),
    ("NOPQRSTUVWXYZ", "722 778 667 778 722 667 611 722 667 944 667 667 611"),
    ("abcdefghijklm", "556 556 500 556 556 278 556 556 222 222 500 222 833"),
    ("nopqrstuvwxyz", "556 556 556 556 333 500 278 556 500 722 500 500 500"),
)
_WIDTHS = {
    char: int(width)
    for chars, widths in _WIDTH_TABLE
    for char, width in zip(chars, widths.split(), strict=True)
}
_WIDTHS |= {"’": 222, "‘": 222, "“": 333, "”": 333, "–": 556, "—": 1000, "_": 556}
_BOLD_FACTOR = 1.07  # Helvetica-Bold is a little wider on average


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of a line of Helvetica text, in the units of ``size``."""
    units = sum(_WIDTHS.get(ch, 556) for ch in text)
    return units * size / 1000 * (_BOLD_FACTOR if bold else 1.0)


Measure = typing.Callable[[str, float, bool], float]


def wrap(
    text: str, size: float, width: float, bold: bool = False, measure: Measure = text_width
) -> list[str]:
    """Break text into lines no wider than ``width`` (a too-long word gets its own line)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and measure(candidate, size, bold) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


@dataclass(frozen=True)
class TextLine:
    """One centred line: baseline y (mm from the top), size (mm), weight, grey level."""

    text: str
    y: float
    size: float
    bold: bool = False
    grey: float = 0.0


@dataclass(frozen=True)
class Poster:
    """A poster for one site's link: the words, where the QR goes, and the short code."""

    words: PosterWording
    url: str  # what the QR code opens
    code: str  # the short code, ABCD-2345
    chat: str  # the bot's address for people who cannot scan, e.g. t.me/MutualAidBot
    site_name: str

    def layout(self, measure: Measure = text_width) -> tuple[list[TextLine], float]:
        """The lines of text and the top of the QR code (mm), top to bottom."""
        width = PAGE_W - 2 * MARGIN
        lines: list[TextLine] = []
        y = MARGIN

        def block(text: str, size: float, bold: bool = False, grey: float = 0.0) -> None:
            nonlocal y
            for line in wrap(text, size, width, bold, measure):
                lines.append(TextLine(line, y + size * 0.8, size, bold, grey))
                y += size * 1.3

        block(self.words.heading, 13.0, bold=True)
        y += 3
        block(self.words.invitation, 7.0)
        y += 4
        qr_top = y
        y += QR_SIZE + 6
        block(self.words.code_line, 6.0)
        block(self.code, 13.0, bold=True)
        block(self.words.open_line.replace("{chat}", self.chat), 5.0)
        y += 4
        block(self.words.choice, 6.5)
        y += 2
        block(self.words.privacy, 5.5)
        if y > PAGE_H - MARGIN:
            raise ValueError("the poster's words do not fit on one A4 page: shorten them")
        lines.append(TextLine(self.site_name, PAGE_H - 12, 4.0, grey=0.4))
        return lines, qr_top

    def svg(self) -> str:
        """The poster as an SVG document (A4, millimetre units)."""
        lines, qr_top = self.layout()
        matrix = qr_matrix(self.url)
        module = QR_SIZE / len(matrix)
        x0 = (PAGE_W - QR_SIZE) / 2
        path = " ".join(
            f"M{col} {row}h{length}v1h-{length}z"
            for row, cells in enumerate(matrix)
            for col, length in _runs(cells)
        )
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" '
            'viewBox="0 0 210 297">',
            f"<title>{escape(self.words.heading)}</title>",
            '<rect width="210" height="297" fill="#fff"/>',
            f'<g transform="translate({x0:.3f} {qr_top:.3f}) scale({module:.5f})">'
            f'<path d="{path}" fill="#000" shape-rendering="crispEdges"/></g>',
        ]
        for line in lines:
            level = round(line.grey * 255)
            colour = f"#{level:02x}{level:02x}{level:02x}"
            weight = ' font-weight="bold"' if line.bold else ""
            out.append(
                f'<text x="{PAGE_W / 2:.1f}" y="{line.y:.2f}" font-size="{line.size}" '
                f'font-family="Helvetica, Arial, sans-serif"{weight} fill={quoteattr(colour)} '
                f'text-anchor="middle">{escape(line.text)}</text>'
            )
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def pdf(self) -> bytes:
        """The poster as a one-page A4 PDF."""
        # Imported here: fpdf2 and matplotlib take a fifth of a second, and every bot start
        # imports this module (for staff QR codes), while only `link --poster` needs them.
        from fpdf import FPDF

        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_auto_page_break(auto=False)
        pdf.set_margins(0, 0, 0)
        pdf.add_page()
        regular, bold = _dejavu()
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))

        def measure(text: str, size: float, is_bold: bool) -> float:
            pdf.set_font("DejaVu", "B" if is_bold else "", size * PT_PER_MM)
            return pdf.get_string_width(text)

        lines, qr_top = self.layout(measure)
        for line in lines:
            level = round(line.grey * 255)
            pdf.set_text_color(level, level, level)
            width = measure(line.text, line.size, line.bold)
            pdf.text(x=(PAGE_W - width) / 2, y=line.y, text=line.text)
        matrix = qr_matrix(self.url)
        module = QR_SIZE / len(matrix)
        x0 = (PAGE_W - QR_SIZE) / 2
        pdf.set_fill_color(0, 0, 0)
        for row, cells in enumerate(matrix):
            for col, length in _runs(cells):
                pdf.rect(x0 + col * module, qr_top + row * module, length * module, module, "F")
        pdf.set_title(f"{self.words.heading} - {self.site_name}")
        pdf.set_producer("mutual-aid-bot")
        pdf.set_creation_date(datetime.now(UTC))
        return bytes(pdf.output())

    def write(self, path: Path) -> None:
        """Write the poster as SVG or PDF, chosen by the file's suffix."""
        suffix = path.suffix.lower()
        if suffix == ".svg":
            path.write_text(self.svg(), encoding="utf-8")
        elif suffix == ".pdf":
            path.write_bytes(self.pdf())
        else:
            raise ValueError(f"{path}: a poster file must end in .svg or .pdf")


def _dejavu() -> tuple[Path, Path]:
    """DejaVu Sans, regular and bold, from matplotlib's own fonts (a dependency already)."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
