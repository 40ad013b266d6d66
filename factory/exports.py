"""A list exported as CSV or XLSX, with the filters the person has set, streamed so that a large export costs the
server about what one chunk of rows does.

CSV rows go out as they are read (`StreamingHttpResponse`), with a byte-order mark so that spreadsheet programs read
Chinese as UTF-8. XLSX is written by XlsxWriter in its constant-memory mode, a row at a time, to a temporary file
that is then sent in blocks (`FileResponse`): the workbook's zip needs its whole content before its directory, so
it cannot go out while rows are still read, but it never sits in memory. Every app's list gives `export_response`
its header and its rows (plain values: text, numbers, aware datetimes in the factory's time zone).
"""

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from factory import clock

# `?export=csv` or `?export=xlsx` on a list page: the list as it is filtered and sorted, every page of it.
EXPORT_PARAM = "export"
EXPORT_FORMATS = ("csv", "xlsx")
# Rows read from the database per round trip (QuerySet.iterator).
EXPORT_CHUNK = 2000
_XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_format(request) -> str | None:
    """The format a list page is asked to export in, or None for the page itself."""
    value = request.GET.get(EXPORT_PARAM, "")
    return value if value in EXPORT_FORMATS else None


def export_links(request) -> dict[str, str]:
    """Format -> the URL of this list page exported in it, with its filters and sort (not its page)."""
    query = request.GET.copy()
    query.pop("page", None)
    links = {}
    for fmt in EXPORT_FORMATS:
        query[EXPORT_PARAM] = fmt
        links[fmt] = f"{request.path}?{query.urlencode()}"
    return links


def _plain(value):
    """A cell as both formats write it: local time without its zone, numbers as numbers, the rest as text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool | int | float | date):
        return value
    return str(value)


class _Echo:
    """A file that hands back what is written to it: csv.writer writes a row, the generator yields it."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(cell):
    return cell.isoformat(sep=" ", timespec="minutes") if isinstance(cell, datetime) else cell


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([str(name) for name in header])
    for row in rows:
        yield writer.writerow([_csv_cell(cell) for cell in map(_plain, row)])


def _xlsx_file(header: Sequence[str], rows: Iterable[Sequence]):
    """The workbook, written a row at a time to a temporary file, rewound for sending."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    workbook = xlsxwriter.Workbook(spool, {"constant_memory": True, "remove_timezone": True})
    sheet = workbook.add_worksheet()
    bold = workbook.add_format({"bold": True})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, [str(name) for name in header], bold)
    for number, row in enumerate(rows, start=1):
        for column, cell in enumerate(map(_plain, row)):
            if isinstance(cell, datetime):
                sheet.write_datetime(number, column, cell, moment)
            elif isinstance(cell, date):
                sheet.write_datetime(number, column, datetime(cell.year, cell.month, cell.day), day)
            else:
                sheet.write(number, column, cell)
    sheet.freeze_panes(1, 0)
    workbook.close()
    spool.seek(0)
    return spool


def export_response(*, name: str, fmt: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    """The list as a download named `<name>-<factory date>.<fmt>`."""
    filename = f"{name}-{timezone.localdate(clock.now()):%Y%m%d}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return FileResponse(_xlsx_file(header, rows), as_attachment=True, filename=filename, content_type=_XLSX_TYPE)


@dataclass(frozen=True)
class Column:
    """One column of an export: its header, the `values_list` path it reads, and how a coded value is shown (a
    choices' labels, or a function of the value); None shows the value as it is."""

    header: object
    field: str
    labels: dict | Callable | None = None


def _shown(labels) -> Callable | None:
    """The column's labels as one function, each label made text once (lazy translations resolve per call)."""
    if labels is None:
        return None
    if isinstance(labels, dict):
        words = {key: str(value) for key, value in labels.items()}
        return lambda value: words.get(value, value)
    seen: dict = {}

    def once(value):
        if value not in seen:
            seen[value] = labels(value)
        return seen[value]

    return once


def export_columns(*, name: str, fmt: str, columns: Sequence[Column], queryset) -> HttpResponse:
    """`queryset` exported as `columns` say, read EXPORT_CHUNK rows at a time as tuples."""
    shown = [_shown(column.labels) for column in columns]
    values = queryset.prefetch_related(None).values_list(*(column.field for column in columns))

    def rows():
        for row in values.iterator(chunk_size=EXPORT_CHUNK):
            yield tuple(value if show is None else show(value) for show, value in zip(shown, row, strict=True))

    return export_response(name=name, fmt=fmt, header=[str(column.header) for column in columns], rows=rows())
