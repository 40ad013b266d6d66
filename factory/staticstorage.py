"""Development's static URLs name the file's content, as collectstatic's hashed names do in production."""

import hashlib
import os
from functools import lru_cache

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import StaticFilesStorage


class VersionedStaticFilesStorage(StaticFilesStorage):
    """`/static/factory/css/factory.css?v=<hash of its content>`: WhiteNoise may then let browsers keep every file
    for a long time (WHITENOISE_MAX_AGE), and an edited file still reaches them at once, under a new URL."""

    def url(self, name):
        url = super().url(name)
        path = finders.find(name) if name else None
        if not path:
            return url
        stat = os.stat(path)
        return f"{url}?v={_content_hash(path, stat.st_mtime_ns, stat.st_size)}"


@lru_cache(maxsize=256)
def _content_hash(path: str, mtime_ns: int, size: int) -> str:
    """Read once per version of the file (its modification time and size are part of the key)."""
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:12]
