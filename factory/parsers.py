"""The API's request parsers.

Its own module: DRF imports the parser classes named in its settings while rest_framework.views is still
loading, so this must not import anything that imports DRF's views (factory.api does).
"""

from django.utils.translation import ngettext
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# How deep a request's JSON may nest. The API's deepest input (a list of objects) nests 3 levels; Python's
# parser would recurse past its limit near 1,000 and answer 500.
JSON_DEPTH_MAX = 32


def _nests_deeper_than(data, limit: int) -> bool:
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering JSON nested deeper than JSON_DEPTH_MAX with a 400 instead of a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(
            ngettext(
                "JSON nested deeper than %(levels)d level.",
                "JSON nested deeper than %(levels)d levels.",
                JSON_DEPTH_MAX,
            )
            % {"levels": JSON_DEPTH_MAX}
        )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _nests_deeper_than(data, JSON_DEPTH_MAX):
            raise too_deep
        return data
