"""Forms of the review page. The checks themselves are the services' (security.services)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from security.models import Severity

YES_NO = [("yes", _("Passed")), ("no", _("Not passed"))]
FINDING_ROWS = 3


class ChecklistForm(forms.Form):
    """One yes/no answer and a note per checklist item of the review."""

    def __init__(self, *args, answers, **kwargs):
        super().__init__(*args, **kwargs)
        self.answers = list(answers)
        for answer in self.answers:
            self.fields[f"passed_{answer.position}"] = forms.ChoiceField(
                label=answer.display_item, choices=YES_NO, widget=forms.RadioSelect, required=False
            )
            self.fields[f"note_{answer.position}"] = forms.CharField(
                label=_("Note"), required=False, max_length=2000, widget=forms.TextInput
            )

    def rows(self):
        return [(answer, self[f"passed_{answer.position}"], self[f"note_{answer.position}"]) for answer in self.answers]

    def service_answers(self) -> dict:
        """{position: {"passed": bool | None, "note": str}}, as security.services takes them."""
        data = self.cleaned_data
        return {
            answer.position: {
                "passed": {"yes": True, "no": False}.get(data.get(f"passed_{answer.position}") or ""),
                "note": data.get(f"note_{answer.position}", ""),
            }
            for answer in self.answers
        }


class RejectForm(forms.Form):
    rework_steps = forms.MultipleChoiceField(
        label=_("Steps to redo"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rework_steps"].choices = [
            (str(step.pk), f"{step.position}. {step.display_name}") for step in steps
        ]
        for row in range(1, FINDING_ROWS + 1):
            self.fields[f"severity_{row}"] = forms.ChoiceField(
                label=_("Severity"), choices=[("", "—"), *Severity.choices], required=False
            )
            self.fields[f"finding_{row}"] = forms.CharField(
                label=_("Finding"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
            )

    def finding_rows(self):
        return [(self[f"severity_{row}"], self[f"finding_{row}"]) for row in range(1, FINDING_ROWS + 1)]

    def service_findings(self) -> list[dict]:
        """The filled-in finding rows (blank rows are ignored)."""
        data = self.cleaned_data
        rows = ((data.get(f"severity_{row}"), data.get(f"finding_{row}", "")) for row in range(1, FINDING_ROWS + 1))
        return [{"severity": severity, "text": text} for severity, text in rows if severity or text.strip()]
