"""The security center's pages: the review queue, one review with its checklist and decisions, history.

Only the security role sees and decides reviews. Every decision is one service call; a refused one
is shown next to the form that caused it and changes nothing.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from factory import roles
from factory.catalog.models import Workshop
from orders import selectors as order_selectors
from orders.display import ORDER_STATUS_TONE
from security import selectors, services
from security.errors import ReviewError
from security.forms import ChecklistForm, RejectForm
from security.models import Review, ReviewStatus

PAGE_SIZE = 25
REVIEW_TONE = {ReviewStatus.PENDING: "amber", ReviewStatus.APPROVED: "green", ReviewStatus.REJECTED: "red"}


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _workshop_filter(request) -> str:
    workshop = request.GET.get("workshop", "")
    return workshop if workshop in Workshop.values else ""


@roles.role_required(roles.SECURITY)
def review_queue(request):
    status = request.GET.get("status", ReviewStatus.PENDING)
    status = status if status in (*ReviewStatus.values, "") else ReviewStatus.PENDING
    sensitive = {"yes": True, "no": False}.get(request.GET.get("sensitive", ""))
    queryset = selectors.review_queue(workshop=_workshop_filter(request), status=status, sensitive=sensitive)
    order = request.GET.get("order", "").strip()
    if order:
        queryset = queryset.filter(order__reference__iexact=order)
    return render(
        request,
        "security/queue.html",
        {
            "page": _page(request, queryset),
            "workshops": Workshop.choices,
            "statuses": ReviewStatus.choices,
            "chosen": {
                "workshop": _workshop_filter(request),
                "status": status,
                "sensitive": request.GET.get("sensitive", ""),
                "order": order,
            },
            "tones": REVIEW_TONE,
        },
    )


@roles.role_required(roles.SECURITY)
def review_history(request):
    queryset = selectors.review_history(workshop=_workshop_filter(request))
    return render(
        request,
        "security/history.html",
        {
            "page": _page(request, queryset),
            "workshops": Workshop.choices,
            "chosen": _workshop_filter(request),
            "tones": REVIEW_TONE,
        },
    )


def _review(pk) -> Review:
    try:
        return selectors.review_detail(int(pk))
    except (Review.DoesNotExist, ValueError):
        raise Http404(_("No such review.")) from None


def _render_review(request, review, *, checklist=None, reject=None, status=200):
    barred = order_selectors.acted_as_operations(order_id=review.order_id, user=request.user)
    steps = sorted(review.stage.steps.all(), key=lambda step: step.position)
    return render(
        request,
        "security/review.html",
        {
            "review": review,
            "order": review.order,
            "order_tone": ORDER_STATUS_TONE.get(review.order.status, "grey"),
            "tone": REVIEW_TONE[review.status],
            "approvals": list(review.approvals.all()),
            "already_approved": any(approval.reviewer_id == request.user.pk for approval in review.approvals.all()),
            "checklist": checklist or ChecklistForm(answers=review.answers.all()),
            "reject": reject or RejectForm(steps=steps),
            "barred": barred,
            "history": selectors.order_reviews(review.order_id, exclude=review.pk),
            "steps": steps,
        },
        status=status,
    )


@roles.role_required(roles.SECURITY)
def review_page(request, pk):
    return _render_review(request, _review(pk))


@roles.role_required(roles.SECURITY)
@require_POST
def review_approve(request, pk):
    review = _review(pk)
    checklist = ChecklistForm(request.POST, answers=review.answers.all())
    if checklist.is_valid():
        try:
            review = services.review_approve(review=review, reviewer=request.user, answers=checklist.service_answers())
        except ReviewError as error:
            checklist.add_error(None, error.message)
        else:
            if review.status == ReviewStatus.APPROVED:
                messages.success(
                    request,
                    _("Approved: the %(workshop)s gate of %(reference)s is released.")
                    % {"workshop": review.get_workshop_display(), "reference": review.order.reference},
                )
            else:
                messages.success(
                    request, _("Your approval is recorded; a second reviewer must approve this sensitive order too.")
                )
            return redirect("security:review", pk=review.pk)
    return _render_review(request, _review(pk), checklist=checklist)


@roles.role_required(roles.SECURITY)
@require_POST
def review_reject(request, pk):
    review = _review(pk)
    steps = sorted(review.stage.steps.all(), key=lambda step: step.position)
    reject = RejectForm(request.POST, steps=steps)
    checklist = ChecklistForm(request.POST, answers=review.answers.all())
    if reject.is_valid() and checklist.is_valid():
        try:
            services.review_reject(
                review=review,
                reviewer=request.user,
                findings=reject.service_findings(),
                rework_steps=[int(step) for step in reject.cleaned_data["rework_steps"]],
            )
        except ReviewError as error:
            reject.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Rejected: %(count)d steps of %(reference)s go back to production; the gate reopens after them.")
                % {"count": len(reject.cleaned_data["rework_steps"]), "reference": review.order.reference},
            )
            return redirect("security:review", pk=review.pk)
    return _render_review(request, _review(pk), reject=reject)
