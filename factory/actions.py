"""One action on a page: a POSTed form (or a button) runs one service, and a refusal changes nothing.

Every app's pages act the same way through `act`: bad input and a service's InvalidRequest come back on the
form, next to the field it names (or above the form), answered with 400, and so does a form whose submission key
came with other answers before (as a fresh form: factory.submissions.show_again); any other refusal (the state
does not allow it, the person may not) is a message on the page the action came from; success is a message there
too.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect

from factory import submissions
from factory.errors import DomainError, InvalidRequest, SubmissionKeyReused, http_status


def act(
    request,
    *,
    form: forms.Form | None = None,
    perform: Callable[[dict], Any],
    success: str | Callable[[Any], str],
    back: str,
    again: Callable[[forms.Form], HttpResponse] | None = None,
    then: Callable[[Any], str] | None = None,
    on_form: tuple[type[DomainError], ...] = (),
) -> HttpResponse:
    """Run `perform(data)` with the form's cleaned data (`{}` for an action without a form) and say what happened.

    `form`: the action's bound form, or None. `success`: the message once done (or a function of what `perform`
    returned). `back`: the URL of the page the action is on; a refusal that is not about the form goes there with
    its message, and so does success unless `then(result)` names another URL. `again(form)` (with a form): the
    page again with the form's errors, answered with 400. `on_form`: refusals that are about what the form asks
    rather than the page's object (a booking that conflicts with another): shown above the form, kept filled in,
    answered with their own status (409).
    """
    if form is not None and not form.is_valid():
        return _again(again, form)
    try:
        result = perform(form.cleaned_data if form is not None else {})
    except InvalidRequest as error:
        if form is None:
            return _refused(request, error, back)
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return _again(again, form)
    except on_form as error:
        if form is None:
            return _refused(request, error, back)
        form.add_error(None, error.message)
        response = again(form)
        response.status_code = http_status(error)
        return response
    except SubmissionKeyReused as error:
        if form is None:
            return _refused(request, error, back)
        submissions.show_again(form)
        return _again(again, form)
    except DomainError as error:
        return _refused(request, error, back)
    messages.success(request, success(result) if callable(success) else success)
    return redirect(then(result) if then is not None else back)


def _again(again, form) -> HttpResponse:
    response = again(form)
    response.status_code = 400
    return response


def _refused(request, error: DomainError, back: str) -> HttpResponse:
    messages.error(request, error.message)
    return redirect(back)
