"""Forms of the client portal's ticket pages: they parse what the client typed. The rules are aftersales.services'.

Field names follow the services' arguments so a refusal (TicketInvalid.field) lands next to its field.
"""

from datetime import timedelta

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.filters import STATUS_CHOICES, TicketFilter
from aftersales.models import Category, Severity, TicketStatus
from factory import submissions
from factory.dates import day_words
from factory.limits import MESSAGE_MAX, NOTE_MAX, TITLE_MAX
from orders.display import duration_words


class ClientTicketFilter(TicketFilter):
    """The portal's part of the one ticket filter set: status and order (the rest is staff-only or moot)."""

    # Same statuses in the client's words: a ticket waiting for the client is waiting for *them*.
    status = django_filters.ChoiceFilter(
        choices=[
            (value, _("Waiting for you") if value == TicketStatus.WAITING_CLIENT else label)
            for value, label in STATUS_CHOICES
        ],
        method="filter_status",
        label=_("Status"),
        empty_label=_("Any status"),
    )
    # None removes the inherited filter: clients see one organization and no SLA flags.
    severity = None
    category = None
    client = None
    breached = None
    search = None

    class Meta(TicketFilter.Meta):
        fields = ["status", "order"]


def severity_choices(policies: dict) -> list[tuple[str, str]]:
    """Each severity with the promise of its SLA policy, most serious first, so the client picks knowingly."""
    choices = []
    for value, label in reversed(Severity.choices):
        policy = policies.get(value)
        if policy is None:
            choices.append((value, label))
            continue
        promise = _("%(severity)s — we answer within %(first)s and aim to resolve within %(resolution)s") % {
            "severity": label,
            "first": duration_words(timedelta(hours=float(policy.first_response_hours))),
            "resolution": duration_words(timedelta(hours=float(policy.resolution_hours))),
        }
        choices.append((value, promise))
    return choices


class OrderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, order):
        if order.delivered_at:
            return _("%(reference)s · %(title)s (delivered %(date)s)") % {
                "reference": order.reference,
                "title": order.title,
                "date": day_words(order.delivered_at),
            }
        return f"{order.reference} · {order.title}"


class TicketOpenForm(forms.Form):
    order = OrderChoiceField(
        queryset=None,
        label=_("Delivered order"),
        empty_label=_("Choose an order"),
        help_text=_("Tickets are opened on orders you have received."),
        error_messages={
            "required": _("Choose the order this ticket is about."),
            "invalid_choice": _("Choose one of your organization's delivered orders."),
        },
    )
    category = forms.ChoiceField(
        label=_("What is it about?"),
        choices=[("", _("Choose a category")), *Category.choices],
        error_messages={"required": _("Choose what the ticket is about.")},
    )
    severity = forms.ChoiceField(
        label=_("How serious is it?"),
        widget=forms.RadioSelect,
        help_text=_("Only the factory can change the severity once the ticket is open."),
        error_messages={"required": _("Choose how serious it is.")},
    )
    subject = forms.CharField(
        label=_("Subject"),
        max_length=TITLE_MAX,
        error_messages={"required": _("Give the ticket a subject.")},
    )
    body = forms.CharField(
        label=_("What happened?"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What you expected, what you got instead, and since when."),
        error_messages={"required": _("Describe what happened.")},
    )
    submission_key = submissions.key_field()

    def __init__(self, *args, orders, policies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].queryset = orders
        self.fields["severity"].choices = severity_choices(policies)


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write a message.")},
    )
    submission_key = submissions.key_field()


class TicketRateForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[(score, str(score)) for score in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("From 1 (poor) to 5 (excellent)."),
        error_messages={"required": _("Give a score from 1 to 5.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class ReopenForm(forms.Form):
    # The portal only reopens; accepting the resolution goes through the rating (which closes the ticket).
    status = forms.ChoiceField(
        choices=[(TicketStatus.IN_PROGRESS, TicketStatus.IN_PROGRESS.label)],
        widget=forms.HiddenInput,
        initial=TicketStatus.IN_PROGRESS,
    )
    note = forms.CharField(
        label=_("What is still not fixed?"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why the ticket is reopened.")},
    )
