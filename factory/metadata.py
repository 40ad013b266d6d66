"""The API's answer to OPTIONS.

Its own module, as factory.parsers: DRF imports the metadata class named in its settings while
rest_framework.views is still loading.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import clone_request


def request_serializer(view, method: str):
    """The serializer of the body `method` takes on `view`, as /api/schema/ documents it: the `request` of the
    handler's extend_schema if it names one (None for an action that takes no body), else the view's own."""
    action_map = getattr(view, "action_map", None)
    handler = getattr(view, action_map[method.lower()] if action_map else method.lower())
    schema_class = getattr(handler, "kwargs", {}).get("schema")
    if schema_class is None:
        return view.get_serializer()
    schema = schema_class()
    schema.view, schema.method = view, method
    found = schema.get_request_serializer()
    if isinstance(found, type) and issubclass(found, serializers.BaseSerializer):
        return found(context=view.get_serializer_context())
    return found if isinstance(found, serializers.BaseSerializer) else None


class Metadata(SimpleMetadata):
    """DRF's OPTIONS answer, describing under `actions` the fields each method takes. DRF's describes the view's
    serializer, which here is the answer's: every field of an order came out read-only under POST."""

    def determine_actions(self, request, view):
        actions = {}
        for method in {"PUT", "POST"} & set(view.allowed_methods):
            view.request = clone_request(request, method)
            try:
                view.check_permissions(view.request)
                serializer = request_serializer(view, method)
                actions[method] = self.get_serializer_info(serializer) if serializer is not None else {}
            except (exceptions.APIException, PermissionDenied, Http404):
                pass  # a method the caller may not use is left out, as DRF does
            finally:
                view.request = request
        return actions
