"""One action per submission: a double click, a resent form or a retried API call does not act twice.

A form carries a one-time submission key (a hidden field made when the form is shown); an API call may send
an `Idempotency-Key` header. A service that creates something stores the key with what it created, unique
per person, and answers a repeat with what the first submission created.
"""

import re
import uuid

from django import forms
from django.db import IntegrityError, transaction

from factory.limits import SUBMISSION_KEY_MAX

FIELD = "submission_key"
HEADER = "HTTP_IDEMPOTENCY_KEY"
_VALID = re.compile(rf"^[A-Za-z0-9_-]{{8,{SUBMISSION_KEY_MAX}}}$")


def new_key() -> str:
    return uuid.uuid4().hex


def key_field() -> forms.CharField:
    """The hidden form field: a fresh key each time an unbound form is shown; posted back unchanged."""
    return forms.CharField(widget=forms.HiddenInput, required=False, initial=new_key, max_length=SUBMISSION_KEY_MAX)


def clean_key(value) -> str | None:
    """A well-formed key, or None (a malformed key is ignored: the action then simply is not deduplicated)."""
    return value if isinstance(value, str) and _VALID.match(value) else None


def key_of_request(request) -> str | None:
    """The API's Idempotency-Key header."""
    return clean_key(request.META.get(HEADER))


def create_once(model, *, key: str | None, owner: dict, create):
    """`create()` unless `model` already has a row with this key for this owner (e.g. {"placed_by": user});
    then that row. Returns (row, created). A race between two equal submissions ends with one row."""
    if key:
        existing = model.objects.filter(submission_key=key, **owner).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        if key and (existing := model.objects.filter(submission_key=key, **owner).first()) is not None:
            return existing, False
        raise
