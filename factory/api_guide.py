"""The integrators' guide at the top of /api/schema/ and /api/docs/: what every operation has in common, said once
so that the operations need not repeat it. A drf-spectacular postprocessing hook (settings.SPECTACULAR_SETTINGS)
puts it in the schema's `info.description`, in the language of the request like the rest of the schema."""

from django.utils.translation import gettext_lazy as _

SECTIONS = [
    (
        _("Authentication"),
        _(
            "Exchange a username and password for a token with `POST /api/v1/auth/token/` (no authentication "
            "needed), then send it on every call as `Authorization: Token <token>`. The prefix is `Token`; "
            "`Bearer` is not accepted. A browser signed in to the control center may call the API with its session "
            "(and its CSRF token on writes). Without valid credentials an operation answers 401; with credentials "
            "whose role may not do it, 403. Client users see only their own organization's data: anyone else's "
            "object answers 404, exactly as one that does not exist."
        ),
    ),
    (
        _("Requests and answers"),
        _(
            "Bodies are JSON: send `Content-Type: application/json` (another type answers 415). Times are ISO 8601 "
            "with their time zone, money is CNY as a decimal string, compute is in PFLOPS and PFLOPS·h as numbers. "
            "Answers are in English, or in Chinese with `Accept-Language: zh-hans`."
        ),
    ),
    (
        _("Errors"),
        _(
            "Every error under /api/ is JSON. Invalid input answers 400 naming each field with its messages: "
            '`{"title": ["This field may not be blank."]}`, `non_field_errors` for the input as a whole. Any other '
            'error answers `{"detail": "..."}`: 401, 403, 404 (no such object or route, or one you may not see), '
            "409 (the object's current state does not allow the action), 412 (see conditional requests), 415, "
            "422 (an idempotency key reused with another body), 429 (see rate limits) and 503 (the factory is "
            "briefly unavailable: retry later). Each operation lists the statuses it can answer."
        ),
    ),
    (
        _("Lists"),
        _(
            "Every list is paginated the same way: `page` (from 1) and `page_size` (1 to 200, 25 by default) "
            'answer `{"count", "next", "previous", "results"}`; follow `next` until it is null. A page past the '
            "last answers 404, a `page` or `page_size` out of range 400. `sort` orders a list by one of the keys "
            "its operation lists; an unknown key answers 400. Filters take the values their operation documents; "
            "an empty or invalid value answers 400 naming the filter, and an id that names nothing you can see "
            "gives an empty list."
        ),
    ),
    (
        _("Creating safely"),
        _(
            "Calls that create (placing an order, opening a ticket, posting a message) take an optional "
            "`Idempotency-Key` header: 8 to 64 letters, digits, `-` or `_`, new for each thing you mean to "
            "create. If the call times out, send it again with the same key and the same body: nothing is created "
            "twice, and the answer is what the first call created, marked `Idempotent-Replayed: true`. The same "
            "key with another body answers 422. A 201 carries `Location`, the URL of what was created."
        ),
    ),
    (
        _("Conditional requests"),
        _(
            "Orders, tickets and reviews carry an `ETag`. Send it back as `If-None-Match` to read the object again "
            "only if it changed (304 without a body otherwise), and as `If-Match` on an action to act only on the "
            "version you read: if someone changed the object since, the action answers 412 and does nothing. A "
            "role, a body or a state that refuses the action is answered first (403, 400, 409), as RFC 9110 orders."
        ),
    ),
    (
        _("Rate limits"),
        _(
            "Calls are limited per user, and per address without credentials; the token endpoint has a tighter "
            "limit of its own. Answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` "
            "(seconds until the window resets). Over the limit, the answer is 429 with `Retry-After` in seconds: "
            "wait that long. Repeated failed sign-ins lock signing in for a while (429 with `Retry-After` too)."
        ),
    ),
    (
        _("Webhooks"),
        _("None yet: poll a list with `If-None-Match` on the objects you follow."),
    ),
]


def guide() -> str:
    """The guide as Markdown, in the active language."""
    intro = _(
        "Orders, dispatch, security gates and after-sales of the AI factory, for the systems that integrate with it. "
        "Paths and field names are stable within /api/v1/."
    )
    return "\n\n".join([str(intro)] + [f"## {title}\n\n{text}" for title, text in SECTIONS])


def describe_the_api(result, generator, request, public):
    """drf-spectacular postprocessing hook: the guide as the schema's description."""
    result["info"]["description"] = guide()
    return result
