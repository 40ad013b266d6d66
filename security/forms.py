"""Forms of the review page: they parse what the reviewer entered. The rules are security.services'.

The page is one form with two buttons (Approve, Reject), so nothing typed is lost when a decision is
refused: the checklist part (ChecklistForm) and the rejection part (RejectForm) read the same POST.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from factory.limits import NOTE_MAX
from security.models import Severity

PASSED, NOT_PASSED = "yes", "no"
YES_NO = [(PASSED, _("Passed")), (NOT_PASSED, _("Not passed"))]
FINDING_ROWS = 3


class ChecklistForm(forms.Form):
    """One passed / not passed answer and a note per checklist item of the review.

    To approve (`approving=True`) every item must be answered and passed: the errors are placed next to
    the items here so the reviewer sees which ones; security.services.review_approve checks the same.
    """

    def __init__(self, *args, answers, approving=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.answers = list(answers)
        self.approving = approving
        for answer in self.answers:
            position = answer.position
            self.fields[f"passed_{position}"] = forms.ChoiceField(
                label=_("Item %(position)d") % {"position": position},
                choices=YES_NO,
                widget=forms.RadioSelect,
                required=approving,
                error_messages={"required": _("Answer this item.")},
            )
            self.fields[f"note_{position}"] = forms.CharField(
                label=_("Note on item %(position)d") % {"position": position},
                required=False,
                max_length=NOTE_MAX,
                widget=forms.TextInput,
            )
            if answer.passed is not None and not self.is_bound:
                self.initial[f"passed_{position}"] = PASSED if answer.passed else NOT_PASSED
                self.initial[f"note_{position}"] = answer.note

    def clean(self):
        data = super().clean()
        if self.approving:
            for answer in self.answers:
                if data.get(f"passed_{answer.position}") == NOT_PASSED:
                    self.add_error(
                        f"passed_{answer.position}",
                        _("This item did not pass: reject the review with findings instead."),
                    )
        return data

    def rows(self):
        """(answer, passed field, note field) per item, in checklist order."""
        return [(answer, self[f"passed_{answer.position}"], self[f"note_{answer.position}"]) for answer in self.answers]

    def error_summary(self):
        """(anchor, label, message) of every error, for the summary above the form."""
        summary = [("checklist", "", error) for error in self.non_field_errors()]
        for answer in self.answers:
            for name in (f"passed_{answer.position}", f"note_{answer.position}"):
                summary += [(f"item-{answer.position}", self.fields[name].label, error) for error in self[name].errors]
        return summary

    def service_answers(self) -> dict:
        """{position: {"passed": bool | None, "note": str}}, as security.services takes them."""
        data = self.cleaned_data
        return {
            answer.position: {
                "passed": {PASSED: True, NOT_PASSED: False}.get(data.get(f"passed_{answer.position}") or ""),
                "note": data.get(f"note_{answer.position}", ""),
            }
            for answer in self.answers
        }

    def complete_answers(self) -> dict | None:
        """The answers when every item is answered (a rejection records them then), else None."""
        answers = self.service_answers()
        return answers if all(row["passed"] is not None for row in answers.values()) else None


class RejectForm(forms.Form):
    """Findings (severity + text; blank rows are ignored) and the steps of the workshop to redo."""

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
                label=_("Severity of finding %(row)d") % {"row": row},
                choices=[("", "—"), *Severity.choices],
                required=False,
            )
            self.fields[f"finding_{row}"] = forms.CharField(
                label=_("Finding %(row)d") % {"row": row},
                required=False,
                max_length=NOTE_MAX,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def clean(self):
        data = super().clean()
        for row in range(1, FINDING_ROWS + 1):
            severity, text = data.get(f"severity_{row}"), (data.get(f"finding_{row}") or "").strip()
            if severity and not text:
                self.add_error(f"finding_{row}", _("Describe this finding."))
            elif text and not severity:
                self.add_error(f"severity_{row}", _("Choose a severity for this finding."))
        return data

    def finding_rows(self):
        return [(row, self[f"severity_{row}"], self[f"finding_{row}"]) for row in range(1, FINDING_ROWS + 1)]

    def error_summary(self):
        summary = [("reject", "", error) for error in self.non_field_errors()]
        for name in [*(f"{kind}_{row}" for row in range(1, FINDING_ROWS + 1) for kind in ("severity", "finding"))]:
            summary += [(f"id_{name}", self.fields[name].label, error) for error in self[name].errors]
        summary += [("rework-steps", self.fields["rework_steps"].label, e) for e in self["rework_steps"].errors]
        return summary

    def service_findings(self) -> list[dict]:
        """The filled-in finding rows (blank rows are ignored)."""
        data = self.cleaned_data
        rows = ((data.get(f"severity_{row}"), data.get(f"finding_{row}") or "") for row in range(1, FINDING_ROWS + 1))
        return [{"severity": severity, "text": text} for severity, text in rows if severity or text.strip()]

    def service_steps(self) -> list[int]:
        return [int(step) for step in self.cleaned_data.get("rework_steps", [])]
