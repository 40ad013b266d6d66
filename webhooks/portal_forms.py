"""The portal's webhook form: it parses what the client typed; the rules (the URL rule, the events, the secret's) are
webhooks.services'. Field names follow the service's arguments, so a refusal lands next to its field."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from factory import submissions
from notifications.kinds import CLIENTS, kinds_for
from webhooks.models import SECRET_MAX, SECRET_MIN, URL_MAX


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
    secret = forms.CharField(
        label=_("Signing secret"),
        min_length=SECRET_MIN,
        max_length=SECRET_MAX,
        strip=False,  # a key is used as given
        # Typed once and never shown again: not even on this form when it comes back with an error.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=format_lazy(
            _(
                "A secret of your own, {min} to {max} characters: it signs each delivery, so that your server can "
                "tell it comes from us. Keep it safe: it is never shown again."
            ),
            min=SECRET_MIN,
            max=SECRET_MAX,
        ),
        error_messages={
            "required": _("Give a signing secret: it signs each delivery."),
            "min_length": _(
                "Make the signing secret at least %(limit_value)d characters long (it has %(show_value)d)."
            ),
            "max_length": _("Keep the signing secret to %(limit_value)d characters at most (it has %(show_value)d)."),
        },
    )
    submission_key = submissions.key_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = [(kind.name, kind.label) for kind in kinds_for(CLIENTS)]
