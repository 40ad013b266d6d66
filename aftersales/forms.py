"""Forms of the staff after-sales pages: they parse what staff entered. The rules are aftersales.services'.

Text fields are not `required` here: the services say what is missing in the factory's words ("Give the
ticket a subject."), and the view puts that message next to the field it names (TicketInvalid.field).
Labels are questions or plain nouns, so no colon after them.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.models import Category, Severity, TicketStatus
from aftersales.services import NOTE_REQUIRED
from catalog.models import ProductType, Size
from factory import submissions
from factory.limits import MESSAGE_MAX, NOTE_MAX, REQUIREMENTS_MAX, TITLE_MAX
from orders.models import Priority


def _text(label, *, maximum, rows=4, help_text=""):
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "maxlength": maximum}),
    )


class TicketForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def add_domain_error(self, error) -> None:
        """A service's refusal next to the field it names, or above the form when it names none of ours."""
        self.add_error(error.field if error.field in self.fields else None, error.message)


class OrderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, order):
        return f"{order.reference} · {order.title} · {order.client.name}"


class TicketOpenForm(TicketForm):
    """Staff open a ticket on a delivered order on behalf of its client."""

    order = OrderChoiceField(
        label=_("Delivered order"),
        queryset=None,
        empty_label=_("Choose a delivered order"),
        error_messages={
            "required": _("Choose the delivered order the ticket is about."),
            "invalid_choice": _("Tickets can be opened on delivered orders only; choose one from the list."),
        },
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices, initial=Category.DEFECT)
    severity = forms.ChoiceField(
        label=_("Severity"),
        choices=Severity.choices,
        initial=Severity.MEDIUM,
        help_text=_("The severity sets the SLA: how soon the factory answers and resolves the ticket."),
    )
    subject = forms.CharField(
        label=_("Subject"), required=False, widget=forms.TextInput(attrs={"maxlength": TITLE_MAX})
    )
    body = _text(_("What happened? (the client sees this as the first message)"), maximum=MESSAGE_MAX, rows=6)
    submission_key = submissions.key_field()

    def __init__(self, *args, orders, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].queryset = orders

    def service_fields(self) -> dict:
        """The cleaned fields, as aftersales.services.ticket_open takes them."""
        fields = {name: self.cleaned_data[name] for name in ("order", "category", "severity", "subject", "body")}
        return {**fields, "submission_key": submissions.clean_key(self.cleaned_data["submission_key"])}


class ReplyForm(TicketForm):
    body = _text(_("Message"), maximum=MESSAGE_MAX)
    internal = forms.BooleanField(
        label=_("Internal note (clients never see it; it does not count as a reply)"), required=False
    )
    submission_key = submissions.key_field()


class StatusForm(TicketForm):
    """One status move; each move offered on the page is its own small form (ids told apart by `auto_id`)."""

    status = forms.ChoiceField(choices=TicketStatus.choices, widget=forms.HiddenInput)
    note = _text(_("Note to the client"), maximum=MESSAGE_MAX, rows=3)

    def __init__(self, *args, target: str, note_required: bool, **kwargs):
        kwargs.setdefault("auto_id", f"id_{target}_%s")
        kwargs.setdefault("initial", {"status": target})
        super().__init__(*args, **kwargs)
        self.target = target
        note = self.fields["note"]
        if note_required:
            note.label = _("Note to the client (required)")
            note.help_text = NOTE_REQUIRED.get(target) or _("Say why the ticket is reopened.")
        else:
            note.label = _("Note to the client (optional)")


class SeverityForm(TicketForm):
    severity = forms.ChoiceField(label=_("New severity"), choices=Severity.choices)
    reason = _text(_("Why does the severity change?"), maximum=NOTE_MAX, rows=2)


class FollowUpOrderForm(TicketForm):
    """A new order for the ticket's client, placed as a follow-up of the ticket's order.

    Sector and data sensitivity are the parent order's (the services default them); product, size and
    priority start from the parent's and may change.
    """

    title = forms.CharField(label=_("Title"), required=False, widget=forms.TextInput(attrs={"maxlength": TITLE_MAX}))
    requirements = _text(_("Requirements"), maximum=REQUIREMENTS_MAX, rows=6)
    # A date input needs ISO dates in every language (zh-hans would otherwise render 2026/03/01).
    requested_delivery = forms.DateField(
        label=_("Requested delivery"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    product_type = forms.ChoiceField(label=_("Product"), choices=ProductType.choices)
    size = forms.ChoiceField(label=_("Size"), choices=Size.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)

    def service_fields(self) -> dict:
        """The cleaned fields, as aftersales.services.ticket_create_follow_up_order takes them."""
        return {name: self.cleaned_data[name] for name in self.fields}
