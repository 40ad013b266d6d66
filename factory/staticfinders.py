from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "plotly/plotly.min.js"


class PlotlyFinder(BaseFinder):
    """Serves plotly.js from the installed plotly package as static/plotly/plotly.min.js.

    Only that one file: the package's data folder also holds datasets nobody should download.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=Path(plotly.__file__).parent / "package_data")

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != PLOTLY_JS:
            return []  # as Django's finders answer "not here"; None would read as a match to finders.find
        found = self.storage.path("plotly.min.js")
        return [found] if find_all else found

    def list(self, ignore_patterns):
        yield "plotly.min.js", _PrefixedStorage(self.storage.location)


class _PrefixedStorage(FileSystemStorage):
    prefix = "plotly"
