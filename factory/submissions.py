"""One action per submission: a double click, a resent form or a retried API call does not act twice.

A form carries a one-time submission key (a hidden field made when the form is shown); an API call may send
an `Idempotency-Key` header. A service that creates something stores the key with what it created, unique
per person, and answers a repeat with what the first submission created.

As in Stripe's API, a key stands for the request it first came with: the row keeps a digest of that request
beside the key, and the same key with another request is refused (SubmissionKeyReused: 422, or the form shown
again as a fresh one), changing nothing. Rows stored before digests were kept have none, and match any request.
"""

import hashlib
import json
import re
import uuid

from django import forms
from django.db import IntegrityError, models, transaction
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from factory.errors import SubmissionKeyReused
from factory.limits import SUBMISSION_KEY_MAX

FIELD = "submission_key"
HEADER = "HTTP_IDEMPOTENCY_KEY"
# The hex sha256 of a request (`digest`), kept beside the key.
DIGEST_LENGTH = 64
_VALID = re.compile(rf"^[A-Za-z0-9_-]{{8,{SUBMISSION_KEY_MAX}}}$")
_REPLAYED = "_replayed_submission"
# What a form refused with SubmissionKeyReused says (show_again).
ALREADY_SENT = gettext_lazy(
    "This form was already sent once, with other answers, and that submission stands; nothing was changed now. "
    "Your new answers are kept below in a fresh form: send it to submit them as well."
)


class SubmittedOnce(models.Model):
    """What a row created by create_once keeps: the key of the form or API call that created it, and a digest of
    what that call asked for. A repeat of the call answers with this row; the key with another request is refused."""

    submission_key = models.CharField(  # noqa: DJ001 - NULL: keyless rows never clash
        gettext_lazy("submission key"), max_length=SUBMISSION_KEY_MAX, null=True, blank=True, editable=False
    )
    submission_digest = models.CharField(
        # A database default too: rows written in bulk (demo.bulk's COPY) name only the columns they fill.
        gettext_lazy("submission digest"),
        max_length=DIGEST_LENGTH,
        blank=True,
        default="",
        db_default="",
        editable=False,
    )

    class Meta:
        abstract = True


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


def _plain(value):
    """A value JSON has no type for, as text: an object by its id; a date, a decimal and the like as printed."""
    return value.pk if isinstance(value, Model) else str(value)


def digest(request: dict) -> str:
    """What a request asks for, as the service's keyword arguments that define it, whatever order the fields came
    in and however its JSON or form was spaced: the same request always has the same digest."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()


def _earlier(model, owner: dict, stamp: dict):
    """The row this owner's earlier submission with the key created, if any; SubmissionKeyReused when it was
    created for another request."""
    row = model.objects.filter(submission_key=stamp["submission_key"], **owner).first()
    if row is None:
        return None
    if row.submission_digest and row.submission_digest != stamp["submission_digest"]:
        raise SubmissionKeyReused(
            _(
                "This Idempotency-Key was already used with a different request; nothing was done. Use a new key "
                "for a new request."
            )
        )
    setattr(row, _REPLAYED, True)
    return row


def create_once(model, *, key: str | None, owner: dict, request: dict, create):
    """`create(stamp)` unless `model` already has a row with this key for this owner (e.g. {"placed_by": user});
    then that row, when it was created for the same `request` (the service's keyword arguments that define what
    is asked: `digest`), else SubmissionKeyReused. `create` gives the row it makes the fields of `stamp` (the key
    and the request's digest). A race between two equal submissions ends with one row."""
    stamp = {"submission_key": key, "submission_digest": digest(request) if key else ""}
    if key and (existing := _earlier(model, owner, stamp)) is not None:
        return existing
    try:
        with transaction.atomic():
            return create(stamp)
    except IntegrityError:
        if key and (existing := _earlier(model, owner, stamp)) is not None:
            return existing
        raise


def replayed(row) -> bool:
    """Whether create_once answered with `row` as what an earlier submission with the same key created."""
    return getattr(row, _REPLAYED, False)


def show_again(form) -> None:
    """A form refused with SubmissionKeyReused (its key came with other answers before), to show again: the
    answers kept, a message above them, and a new key, so that sending it once more is a submission of its own."""
    data = form.data.copy()
    data[form.add_prefix(FIELD)] = new_key()
    form.data = data
    form.add_error(None, ALREADY_SENT)
