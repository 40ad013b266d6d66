"""A statement as a PDF, drawn with reportlab in the language currently active.

Fonts: the built-in PDF fonts have no Chinese, so the text is set in a TrueType CJK font (STATEMENT_FONT_PATH,
WenQuanYi Micro Hei by default) embedded as a subset. An embedded subset prints the same on every viewer and
printer, and reportlab writes its ToUnicode map, so the text can be searched, copied and read back by tests.
Where the file is missing or unreadable the document falls back to Adobe's CID font STSong-Light: it needs no
file (the viewer substitutes its own Song face), so a machine without the font still gets a PDF, not an error.
WenQuanYi has no bold face; emphasis is a larger size and a shaded row, in the same font.
"""

import functools
import io
import logging
import zlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

logger = logging.getLogger(__name__)

DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FALLBACK_FONT = "STSong-Light"
NONE = "—"
SHADE = colors.HexColor("#eef1f5")
RULE = colors.HexColor("#b8c0cc")


@functools.cache
def _font(path):
    """The registered font name for this path: parsing a CJK font takes a while, so once per process and path."""
    if Path(path).is_file():
        name = f"Statement-{zlib.crc32(path.encode()):08x}"
        try:
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0) if path.endswith(".ttc") else TTFont(name, path))
        except (TTFError, OSError):
            logger.warning("Statement font %s cannot be read; falling back to %s", path, FALLBACK_FONT)
        else:
            return name
    else:
        logger.warning("Statement font %s does not exist; falling back to %s", path, FALLBACK_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def _number(value):
    return NONE if value is None else formats.number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)


def _date(value):
    if value is None:
        return NONE
    if isinstance(value, str):  # figures hold ISO strings: a date, or a date-time with its offset
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATE_FORMAT")


def _met(value):
    return NONE if value is None else (_("Yes") if value else _("No"))


def _rating(value):
    return NONE if value is None else str(value)


class _Styles:
    def __init__(self, font):
        self.font = font
        self.title = ParagraphStyle("title", fontName=font, fontSize=16, leading=20, spaceAfter=4 * mm)
        self.heading = ParagraphStyle(
            "heading", fontName=font, fontSize=12, leading=15, spaceBefore=6 * mm, spaceAfter=2 * mm
        )
        self.body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
        self.note = ParagraphStyle(
            "note", parent=self.body, fontSize=7.5, leading=10, textColor=colors.HexColor("#555555")
        )
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)
        self.strong = ParagraphStyle("strong", parent=self.cell, fontSize=9, leading=11)
        self.indented = ParagraphStyle("indented", parent=self.cell, leftIndent=3 * mm)
        self.head = ParagraphStyle("head", parent=self.cell, textColor=colors.HexColor("#333333"))
        self.head_number = ParagraphStyle("head_number", parent=self.head, alignment=TA_RIGHT)

    def p(self, text, style=None):
        return Paragraph(escape(str(text)), style or self.body)


def _table(styles, rows, widths, *, numbers_from, extra=()):
    """A table whose first row is its header (repeated on each page) and whose columns from numbers_from on
    are right-aligned figures; cells that are Paragraphs carry their own font, plain strings take the table's."""
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), styles.font),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (numbers_from, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                *extra,
            ]
        )
    )
    return table


def _header(statement, styles, currency):
    period = _("from %(start)s to %(end)s") % {
        "start": _date(statement.period_start),
        "end": _date(statement.period_end),
    }
    rows = [
        (_("Client"), statement.client_name),
        (_("Period"), period),
        (_("Kind"), statement.kind_label),
        (_("Issued at"), _date(statement.issued_at)),
        (_("Currency"), currency),
    ]
    table = Table(
        [[styles.p(label), styles.p(value)] for label, value in rows], colWidths=[35 * mm, None], hAlign="LEFT"
    )
    table.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _orders(figures, styles, width):
    orders = figures.get("orders") or []
    if not orders:
        return [styles.p(_("No orders delivered or in production in this period."))]
    currency = figures.get("currency", "")
    head = styles.head
    rows = [
        [
            styles.p(_("Order / workshop"), head),
            styles.p(_("Title"), head),
            styles.p(_("Status"), head),
            styles.p(_("Delivered on"), head),
            styles.p(_("Planned compute (PFLOPS·h)"), styles.head_number),
            styles.p(_("Compute used (PFLOPS·h)"), styles.head_number),
            styles.p(_("Planned cost (%(currency)s)") % {"currency": currency}, styles.head_number),
            styles.p(_("Cost (%(currency)s)") % {"currency": currency}, styles.head_number),
        ]
    ]
    extra = []
    for order in orders:
        here = len(rows)
        extra += [("BACKGROUND", (0, here), (-1, here), SHADE), ("FONTSIZE", (4, here), (-1, here), 9)]
        rows.append(
            [
                styles.p(order["reference"], styles.strong),
                styles.p(order["title"], styles.strong),
                styles.p(order["status_label"], styles.cell),
                styles.p(_date(order.get("delivered_on")), styles.cell),
                _number(order.get("quoted_compute")),
                _number(order.get("compute")),
                _number(order.get("quoted_cost")),
                _number(order.get("cost")),
            ]
        )
        for workshop in order.get("workshops") or []:
            extra.append(("SPAN", (0, len(rows)), (3, len(rows))))
            rows.append(
                [
                    styles.p(workshop["workshop_label"], styles.indented),
                    "",
                    "",
                    "",
                    _number(workshop.get("planned_compute")),
                    _number(workshop.get("compute")),
                    _number(workshop.get("planned_cost")),
                    _number(workshop.get("cost")),
                ]
            )
    totals = figures.get("totals") or {}
    last = len(rows)
    extra += [
        ("SPAN", (0, last), (3, last)),
        ("BACKGROUND", (0, last), (-1, last), SHADE),
        ("LINEABOVE", (0, last), (-1, last), 0.8, RULE),
        ("FONTSIZE", (4, last), (-1, last), 9),
    ]
    rows.append(
        [
            styles.p(_("Total"), styles.strong),
            "",
            "",
            "",
            _number(totals.get("quoted_compute")),
            _number(totals.get("compute")),
            _number(totals.get("quoted_cost")),
            _number(totals.get("cost")),
        ]
    )
    fractions = (0.155, 0.185, 0.085, 0.135, 0.095, 0.095, 0.125, 0.125)
    return [
        _table(styles, rows, [width * f for f in fractions], numbers_from=4, extra=extra),
        Spacer(1, 2 * mm),
        styles.p(
            _("Planned figures per workshop are the quote kept at confirmation, split over the workshops."),
            styles.note,
        ),
    ]


def _tickets(figures, styles, width):
    tickets = figures.get("tickets") or []
    if not tickets:
        return [styles.p(_("No tickets opened in this period."))]
    summary = figures.get("ticket_summary") or {}
    line = _(
        "Opened: %(opened)s · First response within SLA: %(first)s · Resolution within SLA: %(resolution)s"
        " · Breached: %(breached)s"
    ) % {
        "opened": summary.get("opened", len(tickets)),
        "first": summary.get("first_response_met", NONE),
        "resolution": summary.get("resolution_met", NONE),
        "breached": summary.get("breached", NONE),
    }
    head = styles.head
    rows = [
        [
            styles.p(_("Ticket"), head),
            styles.p(_("Subject"), head),
            styles.p(_("Severity"), head),
            styles.p(_("Status"), head),
            styles.p(_("Opened"), head),
            styles.p(_("First response within SLA"), head),
            styles.p(_("Resolution within SLA"), head),
            styles.p(_("Rating"), styles.head_number),
        ]
    ]
    for ticket in tickets:
        rows.append(
            [
                styles.p(ticket["reference"], styles.cell),
                styles.p(ticket["subject"], styles.cell),
                styles.p(ticket["severity_label"], styles.cell),
                styles.p(ticket["status_label"], styles.cell),
                _date(ticket.get("opened_at")),
                _met(ticket.get("first_response_met")),
                _met(ticket.get("resolution_met")),
                _rating(ticket.get("rating")),
            ]
        )
    fractions = (0.15, 0.24, 0.09, 0.09, 0.13, 0.11, 0.11, 0.08)
    return [styles.p(line), Spacer(1, 2 * mm), _table(styles, rows, [width * f for f in fractions], numbers_from=7)]


def _ratings(figures, styles, width):
    ratings = figures.get("ratings") or {}
    rated = ratings.get("orders") or []
    if not rated and ratings.get("order_mean") is None and ratings.get("ticket_mean") is None:
        return [styles.p(_("No ratings in this period."))]
    flowables = [
        styles.p(_("Mean order rating: %(mean)s") % {"mean": _number(ratings.get("order_mean"))}),
        styles.p(_("Mean ticket rating: %(mean)s") % {"mean": _number(ratings.get("ticket_mean"))}),
    ]
    if rated:
        rows = [
            [
                styles.p(_("Order"), styles.head),
                styles.p(_("Rating"), styles.head_number),
                styles.p(_("Comment"), styles.head),
            ]
        ]
        rows += [
            [
                styles.p(r["reference"], styles.cell),
                _rating(r.get("rating")),
                styles.p(r.get("comment") or NONE, styles.cell),
            ]
            for r in rated
        ]
        flowables += [
            Spacer(1, 2 * mm),
            _table(styles, rows, [width * 0.18, width * 0.1, width * 0.72], numbers_from=1),
        ]
    return flowables


def statement_pdf(*, statement) -> bytes:
    font = _font(getattr(settings, "STATEMENT_FONT_PATH", DEFAULT_FONT_PATH))
    styles = _Styles(font)
    figures = statement.figures
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=statement.reference,
        author=_("AI Factory Control Center"),
        subject=_("Statement %(reference)s") % {"reference": statement.reference},
        creator=_("AI Factory Control Center"),
    )
    footer_page = _("Page %(number)s")

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(doc.leftMargin, 10 * mm, statement.reference)
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 10 * mm, footer_page % {"number": doc.page})
        canvas.restoreState()

    story = [
        Paragraph(escape(_("Statement %(reference)s") % {"reference": statement.reference}), styles.title),
        _header(statement, styles, figures.get("currency", "")),
        Paragraph(escape(_("Orders")), styles.heading),
        *_orders(figures, styles, doc.width),
        Paragraph(escape(_("Tickets and SLA")), styles.heading),
        *_tickets(figures, styles, doc.width),
        Paragraph(escape(_("Ratings")), styles.heading),
        *_ratings(figures, styles, doc.width),
    ]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
