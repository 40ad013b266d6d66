"""The portal's webhook form: it parses what the client typed; the rules (the URL rule, the events) are
webhooks.services'. Field names follow the service's arguments, so a refusal lands next to its field."""

from django import forms
from django.utils.translation import gettext_lazy as _

from factory import submissions
from notifications.kinds import CLIENTS, kinds_for
from webhooks.models import URL_MAX


class EndpointRegisterForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=URL_MAX,
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/factory"}),
        help_text=_("An https address of your server that accepts POST requests with a JSON body."),
        error_messages={"required": _("Give the endpoint's URL.")},
    )
    kinds = forms.MultipleChoiceField(
        label=_("Events to send"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one event."),
            "invalid_choice": _("Choose events from the list."),
        },
    )
    submission_key = submissions.key_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = [(kind.name, kind.label) for kind in kinds_for(CLIENTS)]
