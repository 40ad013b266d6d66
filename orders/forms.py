"""The order form, shared by staff (placing for a client) and the client portal (placing for itself).

Field checks are the services' own (`order_validate`), so the form, the API and the services
can never disagree about what a valid order is.
"""

from django import forms
from django.db.models import BLANK_CHOICE_DASH
from django.utils.translation import gettext_lazy as _

from catalog.models import ProductType, Sector, Size
from factory import submissions
from factory.limits import REQUIREMENTS_MAX, TITLE_MAX
from orders.access import organization_of
from orders.errors import OrderError
from orders.models import ClientOrganization, DataSensitivity, Priority
from orders.services import order_validate


class OrderForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    product_type = forms.ChoiceField(label=_("Product"), choices=ProductType.choices)
    # Blank until someone picks it (a select would otherwise offer its first choice, "Government", to a hospital);
    # a client's form starts on its organization's own sector.
    sector = forms.ChoiceField(label=_("Sector"), choices=BLANK_CHOICE_DASH + Sector.choices)
    requirements = forms.CharField(
        label=_("Requirements"), widget=forms.Textarea(attrs={"rows": 6}), max_length=REQUIREMENTS_MAX, required=False
    )
    data_sensitivity = forms.ChoiceField(
        label=_("Data sensitivity"),
        choices=DataSensitivity.choices,
        help_text=_("Sensitive data (e.g. medical records) is processed only on trusted in-province pools."),
    )
    size = forms.ChoiceField(label=_("Size"), choices=Size.choices, initial=Size.MEDIUM)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    # A date input needs ISO dates in every language (zh-hans would otherwise render 2026/03/01).
    requested_delivery = forms.DateField(
        label=_("Requested delivery"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    submission_key = submissions.key_field()

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        fields = {name: cleaned[name] for name in self.base_fields if name not in ("client", "submission_key")}
        try:
            cleaned.update(order_validate(actor=self.actor, **fields))
        except OrderError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned

    def placed_fields(self) -> dict:
        """The cleaned fields, as orders.services.order_submit takes them."""
        fields = {name: self.cleaned_data[name] for name in OrderForm.base_fields}
        fields["submission_key"] = submissions.clean_key(fields["submission_key"])
        return fields


class ClientOrderForm(OrderForm):
    """A client places an order for its own organization; `urgent` is staff-only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["priority"].choices = [choice for choice in Priority.choices if choice[0] != Priority.URGENT]
        organization = organization_of(self.actor)
        if organization is not None:
            self.fields["sector"].initial = organization.sector


class StaffOrderForm(OrderForm):
    """Staff place an order on behalf of a client organization."""

    client = forms.ModelChoiceField(label=_("Client"), queryset=ClientOrganization.objects.all())

    field_order = ["client"]
