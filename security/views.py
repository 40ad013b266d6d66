"""The security center's pages: the review queue, one review with its checklist and decisions, history.

Only the security role sees and decides reviews. Each decision is one service call; a refused decision is
shown next to what caused it, and changes nothing.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from catalog.models import Workshop
from factory import clock, roles
from factory.exports import EXPORT_CHUNK, export_format, export_links, export_response
from orders import selectors as order_selectors
from orders.display import ORDER_STATUS_TONE, duration_words
from orders.models import OrderStatus
from security import exports, permissions, selectors, services
from security.errors import ReviewError, ReviewInvalid
from security.filters import ReviewFilter
from security.forms import ChecklistForm, RejectForm
from security.models import DECIDED_STATUSES, Review, ReviewStatus

PAGE_SIZE = 25


def _page(request, queryset):
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    for review in page.object_list:
        review.waiting = duration_words(review.waited)
    return page


def _list(request, template, queryset, *, default_sort, default_status="", decided_only=False):
    data = request.GET.copy()
    if default_status and "status" not in data:
        data["status"] = default_status
    if not data.get("sort"):
        data["sort"] = default_sort
    filters = ReviewFilter(data, queryset=queryset)
    if (fmt := export_format(request)) is not None and filters.is_valid():
        reviews = filters.qs.iterator(chunk_size=EXPORT_CHUNK)
        return export_response(
            name="reviews", fmt=fmt, header=exports.export_header(), rows=map(exports.export_row, reviews)
        )
    if decided_only:
        status = filters.form.fields["status"]
        # The field adds its own "Any status" line before these.
        status.choices = [choice for choice in status.choices if choice[0] in DECIDED_STATUSES]
    return render(
        request,
        template,
        {"page": _page(request, filters.qs), "filters": filters.form, "export": export_links(request)},
    )


@roles.role_required(*permissions.DECIDE_ROLES)
def review_queue(request):
    """Pending reviews by default (pending first, oldest first); filters by workshop, status, sensitivity, order."""
    return _list(
        request, "security/queue.html", selectors.reviews(), default_sort="pending", default_status=ReviewStatus.PENDING
    )


@roles.role_required(*permissions.DECIDE_ROLES)
def review_history(request):
    """Decided reviews, newest first."""
    return _list(
        request, "security/history.html", selectors.review_history(), default_sort="decided", decided_only=True
    )


def _render_review(request, pk, *, checklist=None, reject=None, status=200):
    try:
        page = selectors.review_page(user=request.user, pk=pk)
    except (Review.DoesNotExist, ValueError):
        raise Http404(_("No such review.")) from None
    review, order = page.review, page.order
    checklist = checklist or ChecklistForm(answers=review.answers.all())
    reject = reject or RejectForm(steps=page.steps)
    return render(
        request,
        "security/review.html",
        {
            "page": page,
            "review": review,
            "order": order,
            "order_tone": ORDER_STATUS_TONE.get(order.status, "grey"),
            "segments": order_selectors.workshop_bar(order),
            "waiting": duration_words((review.decided_at or clock.now()) - review.opened_at),
            "checklist": checklist,
            "reject": reject,
            "errors": checklist.error_summary() + reject.error_summary(),
        },
        status=status,
    )


@roles.role_required(*permissions.DECIDE_ROLES)
def review_page(request, pk):
    return _render_review(request, pk)


def _review_or_404(pk) -> Review:
    try:
        return selectors.review_detail(pk)
    except (Review.DoesNotExist, ValueError):
        raise Http404(_("No such review.")) from None


def _refused(request, pk, error: ReviewError, *, checklist, reject):
    """Bad input goes back to the form next to its field (400); other refusals are a message (nothing changed)."""
    if isinstance(error, ReviewInvalid):
        if error.field == "rework_steps":
            reject.add_error("rework_steps", error.message)
        elif error.field == "findings":
            reject.add_error(None, error.message)
        else:
            checklist.add_error(None, error.message)
        return _render_review(request, pk, checklist=checklist, reject=reject, status=400)
    messages.error(request, error.message)
    return redirect("security:review", pk=pk)


@roles.role_required(*permissions.DECIDE_ROLES)
@require_POST
def review_approve(request, pk):
    review = _review_or_404(pk)
    checklist = ChecklistForm(request.POST, answers=review.answers.all(), approving=True)
    # Findings typed before pressing Approve stay on the page if the approval is refused (shown, not checked).
    typed = {**request.POST.dict(), "rework_steps": request.POST.getlist("rework_steps")}
    reject = RejectForm(steps=review.stage.steps.all(), initial=typed)
    if not checklist.is_valid():
        return _render_review(request, pk, checklist=checklist, reject=reject, status=400)
    try:
        services.review_approve(review=review, reviewer=request.user, answers=checklist.service_answers())
    except ReviewError as error:
        return _refused(request, pk, error, checklist=checklist, reject=reject)
    outcome = selectors.decision_outcome(review.pk)
    if outcome.status != ReviewStatus.APPROVED:
        messages.success(
            request,
            _("Approval %(given)d of %(required)d recorded for %(reference)s — a second reviewer must approve.")
            % {
                "given": outcome.approvals_given,
                "required": outcome.approvals_required,
                "reference": outcome.reference,
            },
        )
    elif outcome.order_status == OrderStatus.READY:
        messages.success(
            request,
            _("Gate released — %(reference)s passed its last gate and is ready for delivery.")
            % {"reference": outcome.reference},
        )
    else:
        workshop = dict(Workshop.choices).get(outcome.order_workshop, _("next workshop"))
        messages.success(
            request,
            _("Gate released — %(reference)s enters the %(workshop)s.")
            % {"reference": outcome.reference, "workshop": workshop},
        )
    return redirect("security:reviews")


@roles.role_required(*permissions.DECIDE_ROLES)
@require_POST
def review_reject(request, pk):
    review = _review_or_404(pk)
    checklist = ChecklistForm(request.POST, answers=review.answers.all())
    reject = RejectForm(request.POST, steps=review.stage.steps.all())
    valid = [checklist.is_valid(), reject.is_valid()]  # both, so every error shows at once
    if not all(valid):
        return _render_review(request, pk, checklist=checklist, reject=reject, status=400)
    steps = reject.service_steps()
    try:
        services.review_reject(
            review=review,
            reviewer=request.user,
            findings=reject.service_findings(),
            rework_steps=steps,
            answers=checklist.complete_answers(),
        )
    except ReviewError as error:
        return _refused(request, pk, error, checklist=checklist, reject=reject)
    outcome = selectors.decision_outcome(review.pk)
    messages.success(
        request,
        ngettext(
            "Rejected — %(count)d step of %(reference)s sent back to rework; the gate reopens after it.",
            "Rejected — %(count)d steps of %(reference)s sent back to rework; the gate reopens after them.",
            len(steps),
        )
        % {"count": len(steps), "reference": outcome.reference},
    )
    return redirect("security:reviews")
