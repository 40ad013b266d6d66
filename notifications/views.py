"""The inbox (every signed-in person's), its unread count for the header, and the notification settings."""

import contextlib

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from factory.errors import InvalidRequest
from notifications import kinds as notice_kinds
from notifications import selectors, services
from notifications.kinds import EmailChoice
from notifications.models import Notice, Preference

PAGE_SIZE = 25


@login_required
def inbox(request):
    page = Paginator(selectors.inbox(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "rows": selectors.with_words(page.object_list),
            "unread": selectors.unread_count(request.user),
        },
    )


def unread(request):
    """The header's count, fetched every few seconds: 401 rather than the login page once the session ended."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": _("Sign in again.")}, status=401)
    return JsonResponse({"unread": selectors.unread_count(request.user)})


@login_required
@require_POST
def notice_open(request, pk):
    """Open a notice: it is read, and its link followed (the inbox when it has none)."""
    notice = get_object_or_404(Notice, pk=pk, recipient=request.user)
    services.notices_mark_read(user=request.user, notice_ids=[notice.pk])
    safe = url_has_allowed_host_and_scheme(notice.url, allowed_hosts={request.get_host()})
    return redirect(notice.url if notice.url and safe else "notifications:inbox")


@login_required
@require_POST
def mark_all_read(request):
    count = services.notices_mark_read(user=request.user)
    messages.success(request, _("%(count)d notices marked read.") % {"count": count})
    return redirect("notifications:inbox")


class PreferencesForm(forms.Form):
    """One choice per kind of notice the person may receive."""

    def __init__(self, *args, kinds, current, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in kinds:
            self.fields[kind.name] = forms.ChoiceField(
                label=kind.label, choices=EmailChoice.choices, initial=current.get(kind.name, kind.email)
            )


@login_required
def preferences(request):
    kinds = notice_kinds.kinds_for(services.audience_of(request.user))
    current = dict(Preference.objects.filter(user=request.user).values_list("kind", "email"))
    form = PreferencesForm(request.POST or None, kinds=kinds, current=current)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.preferences_set(user=request.user, choices=form.cleaned_data)
            except InvalidRequest as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Your notification settings are saved."))
                return redirect("notifications:preferences")
        return render(request, "notifications/preferences.html", {"form": form}, status=400)
    return render(request, "notifications/preferences.html", {"form": form})


def set_language(request):
    """Django's language switch, which also remembers a signed-in person's choice: their e-mails are written in it."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and response.status_code == 302:
        with contextlib.suppress(InvalidRequest):  # Django's switch ignored it too
            services.reader_set_language(user=request.user, language=language)
    return response
