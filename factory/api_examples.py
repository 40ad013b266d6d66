"""Every API operation's example request and answer, in /api/schema/.

An app declares the examples of the operations it serves in its own `api_examples` module (orders/api_examples.py,
dispatch/api_examples.py, ...) with `example()`; they are found the way the admin finds admin.py
(`autodiscover_modules`), so the ground floor imports no app. The drf-spectacular postprocessing hook `add_examples`
(settings.SPECTACULAR_SETTINGS) writes them into the schema where OpenAPI 3.0 and the tools that read it look for
them: a request body under `requestBody.content["application/json"].examples`, a path or query parameter as its
`example`, the answer under `responses[status].content["application/json"].examples`. Swagger UI shows them, and
schemathesis's examples phase sends them, so a request example must be one the server accepts.

The ground floor's own operation, the token endpoint (factory.views.ObtainToken), has its example at the end.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _

from factory import clock

MODULE = "api_examples"
JSON = "application/json"


@dataclass(frozen=True)
class DaysAhead:
    """A date `days` after the factory's today, as the schema is read. A requested delivery must lie in the future
    (orders.services.order_validate): a fixed date would turn a true example false as the clock passes it."""

    days: int


@dataclass(frozen=True)
class MomentAhead:
    """`hour` o'clock (the factory's time zone) `days` after the factory's today, as the schema is read: a scenario's
    window must end after now (dispatch.scenario_changes), which a fixed moment would stop doing."""

    days: int
    hour: int


@dataclass(frozen=True)
class Example:
    summary: Promise | str
    status: int
    answer: Any
    body: Any
    parameters: dict


_NO_BODY = object()
_declared: dict[str, dict[str, Example]] = {}


def example(
    operation_id: str,
    name: str = "example",
    *,
    summary: Promise | str,
    answer: Any,
    status: int = 200,
    body: Any = _NO_BODY,
    parameters: dict | None = None,
) -> None:
    """Declare an example of the operation `operation_id` (its operationId in the schema, e.g. `orders_create`):
    the request, its JSON `body` and its path and query `parameters` by name, and the answer, `status` with the JSON
    `answer`. An operation may have several examples under different `name`s; they must agree on the parameters,
    of which OpenAPI 3.0 keeps one example each. `summary` names the example to people: translate it."""
    examples = _declared.setdefault(operation_id, {})
    if name in examples:
        raise ImproperlyConfigured(f"Two examples named {name!r} for the operation {operation_id}.")
    examples[name] = Example(summary, status, answer, body, dict(parameters or {}))


def declared() -> dict[str, dict[str, Example]]:
    """Every app's examples by operationId, their modules imported first."""
    autodiscover_modules(MODULE)
    return _declared


def page(*results) -> dict:
    """An example answer of a list: one page, the last, of `results`."""
    return {"count": len(results), "next": None, "previous": None, "results": list(results)}


def _resolved(value: Any) -> Any:
    """`value` as JSON data for the schema: the dates relative to today computed, the translations made."""
    if isinstance(value, dict):
        return {key: _resolved(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_resolved(item) for item in value]
    if isinstance(value, DaysAhead):
        return (timezone.localdate(clock.now()) + timedelta(days=value.days)).isoformat()
    if isinstance(value, MomentAhead):
        day = timezone.localdate(clock.now()) + timedelta(days=value.days)
        return timezone.make_aware(datetime.combine(day, time(value.hour))).isoformat()
    if isinstance(value, Promise):
        return str(value)
    return value


def add_examples(result, generator, request, public):
    """drf-spectacular postprocessing hook: the declared examples written into the schema's operations.

    An operation the schema leaves out (a schema of part of the API) is skipped. An example that does not fit its
    operation (a body where it takes none, a parameter or a status it does not have, two values for one parameter)
    is a mistake in the declaration and fails the schema, so that tests see it at once."""
    operations = {
        operation["operationId"]: operation
        for methods in result.get("paths", {}).values()
        for operation in methods.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    misfits = []
    for operation_id, examples in declared().items():
        operation = operations.get(operation_id)
        if operation is not None:
            for name, given in examples.items():
                misfits += [f"{operation_id} ({name}): {misfit}" for misfit in _write(operation, name, given)]
    if misfits:
        raise ImproperlyConfigured("API examples that do not fit their operation: " + "; ".join(misfits))
    return result


def _write(operation: dict, name: str, given: Example) -> list[str]:
    """Write one example into `operation`; what did not fit, in words."""
    misfits = []
    entry = {"summary": str(given.summary)}
    if given.body is not _NO_BODY:
        content = operation.get("requestBody", {}).get("content", {}).get(JSON)
        if content is None:
            misfits.append("a body for an operation that takes no JSON body")
        else:
            content.setdefault("examples", {})[name] = {**entry, "value": _resolved(given.body)}
    parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] in ("path", "query")}
    for parameter_name, value in given.parameters.items():
        parameter = parameters.get(parameter_name)
        value = _resolved(value)
        if parameter is None:
            misfits.append(f"no parameter {parameter_name!r}")
        elif parameter.setdefault("example", value) != value:
            misfits.append(f"two example values for the parameter {parameter_name!r}")
    content = operation["responses"].get(str(given.status), {}).get("content", {}).get(JSON)
    if content is None:
        misfits.append(f"no JSON answer with status {given.status}")
    else:
        content.setdefault("examples", {})[name] = {**entry, "value": _resolved(given.answer)}
    return misfits


# --- The token endpoint (factory.views.ObtainToken) ----------------------------------------------------------

example(
    "auth_token_create",
    summary=_("A client user gets a token"),
    body={"username": "li.na", "password": "correct-horse-battery-staple"},
    answer={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"},
)
