"""The access matrix: every URL of the control center, asked by every role, gets exactly its expected answer.

The cells are generated from the URL configuration (`django.urls.get_resolver()`, walked recursively, DRF
router routes and any format-suffix variants included), so a new URL pattern without a row in EXPECTED fails
with a message naming it, and a row whose pattern is gone fails too. Only the patterns in SKIPPED and the
Django admin's internals are left out, each with its reason.

Roles, in the order of each row's columns: anonymous, a client user of organization A, a client user of
organization B, operations, dispatch, security, after-sales, and a superuser. Every object with an id
(order, ticket, review, pool, job, step, tracking token) belongs to organization A, so client A sees it
and client B must get 404, never 403 (API.md: another client's object is not revealed).

How each URL is asked (the row's method says which):
- GET for pages, the live JSON endpoints and API reads;
- POST with an EMPTY body for every action URL, page or API, and for the two API create endpoints. A
  permitted role then gets 400 (form or field errors), 409, a redirect back with a message, or 200 when the
  action needs no input; anyone else 302 to the login page (anonymous page view), 401 (anonymous API call
  or live JSON endpoint), 403 or 404. Each request runs in its own rolled-back savepoint, so an action that
  succeeds changes nothing for the next cell.

Besides the status, every cell checks that an anonymous 302 goes to a login page, that a signed-in user is
never bounced to one, and that a client user's 200 (a page, a CSV, a PDF's text) never shows the other
organization's name, orders or tickets, nor the username of anyone on the staff.

Cells checked: 1,192 (149 rows: 140 URL patterns, the orders, tickets, scenarios, reservations, pool changes and
webhooks collections, the portal's webhooks page, an order's priority page and the notification settings asked with
GET and POST, x 8 roles); test_summary prints the current count (`-s`).
"""

import io
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from pypdf import PdfReader

from factory import clock
from notifications.models import Notice
from statements.services import statement_issue
from tests.dispatch.scenario_results import finish_run, scenario_result
from tests.factories import (
    ClientOrganizationFactory,
    client_user,
    compute_pool,
    open_ticket,
    order_at,
    place_order,
    user_per_role,
)
from webhooks import services as webhook_services

ROLES = ("anonymous", "client_a", "client_b", "operations", "dispatch", "security", "aftersales", "admin")

# URL patterns left out of the matrix, each with the reason. Everything else needs a row in EXPECTED.
SKIPPED = {
    # Signing in and out is open to everyone by design (tests/foundation/test_access.py, test_sign_in_lockout.py).
    "/accounts/login/": "the sign-in page",
    "/accounts/logout/": "signing out",
    # Django's language switch: anyone may choose a language (tests/foundation/test_i18n.py).
    "/i18n/setlang/": "the language switch",
    # For load balancers and monitors, without login by design (tests/foundation/test_platform.py).
    "/healthz": "the health check",
    "/livez": "the liveness check (no database, no session)",
    # The OpenAPI schema and its offline docs: documentation, not data (covered by the schema tests).
    "/api/schema/": "the API schema",
    "/api/docs/": "the API docs",
    # Any other path under /api/: the API's JSON 404 for everyone (tests/foundation/test_api_errors.py).
    "/api/": "paths no API route takes",
    # DEBUG-only previews of the error pages.
    "/__errors__/{code}/": "error page previews",
}
# The Django admin's internals (model pages, password change, autocomplete, jsi18n…) are guarded by the
# admin site itself (is_staff); only its index is in the matrix, which is enough to pin who gets in.
ADMIN = "/admin/"

# fmt: off
# Answers per role. Key: "METHOD /url/template/"; value: (object whose id fills {pk}, then one status per
# role in ROLES order). Objects: "order" (org A's delivered, sensitive order), "ticket" (on that order),
# "review" (a pending review of another org A order), "pool", "job", "scenario" (with a change), "run" (its
# run, done), "booking" (a maintenance window ahead on another pool), "webhook" (org A's endpoint),
# "webhook_delivery" (its delivery of the order's delivery, waiting to be sent) and "notice" (client A's first
# notice); None when the URL has no {pk}.
# {step_pk} is a step of "order", {token} its tracking token.
#                                                               anon  clA  clB  ops  dis  sec  aft  adm
EXPECTED: dict[str, tuple] = {
    # --- Staff pages: any staff role reads; client users land on their portal or get 403 ------------------------
    "GET /":                                          (None,     302, 302, 302, 200, 200, 200, 200, 200),
    "GET /live/operations/":                          (None,     401, 403, 403, 200, 200, 200, 200, 200),
    "GET /orders/{pk}/compliance/":                   ("order",  302, 403, 403, 200, 403, 200, 403, 200),
    # The yearly plan: operations and dispatch, as the dispatch center (dashboard.plan.PLAN_ROLES).
    "GET /plan/":                                     (None,     302, 403, 403, 200, 200, 403, 403, 200),
    "GET /orders/":                                   (None,     302, 403, 403, 200, 200, 200, 200, 200),
    "GET /orders/new/":                               (None,     302, 403, 403, 200, 403, 403, 200, 200),
    "GET /orders/{pk}/":                              ("order",  302, 403, 403, 200, 200, 200, 200, 200),
    # Order actions (orders/views.py ACTION_ROLES); the order is delivered, so most moves are refused with a
    # message (302 back to the order), and empty forms come back with their errors (400).
    "POST /orders/{pk}/accept/":                      ("order",  302, 403, 403, 302, 403, 403, 403, 302),
    "POST /orders/{pk}/reject/":                      ("order",  302, 403, 403, 400, 403, 403, 403, 400),
    "POST /orders/{pk}/start-production/":            ("order",  302, 403, 403, 302, 403, 403, 403, 302),
    "POST /orders/{pk}/steps/{step_pk}/finish/":      ("order",  302, 403, 403, 302, 403, 403, 403, 302),
    "POST /orders/{pk}/requirement-changes/":         ("order",  302, 403, 403, 400, 403, 403, 400, 400),
    "POST /orders/{pk}/deliver/":                     ("order",  302, 403, 403, 302, 403, 403, 403, 302),
    "POST /orders/{pk}/cancel/":                      ("order",  302, 403, 403, 400, 403, 403, 403, 400),
    "POST /orders/{pk}/tracking-link/renew/":         ("order",  302, 403, 403, 302, 403, 403, 302, 302),
    "POST /orders/{pk}/tracking-link/revoke/":        ("order",  302, 403, 403, 302, 403, 403, 302, 302),
    # --- Dispatch center: dispatch and operations read and reprioritize; only dispatch acts on pools ----------
    # (The order's priority changes only on its priority page here, which the staff order page links to.)
    # The header search: every staff role (each finds only the kinds it may look at); clients have their portal.
    "GET /search/":                                   (None,     302, 403, 403, 200, 200, 200, 200, 200),
    # A client organization's page: every staff role; clients see their own portal.
    "GET /clients/{pk}/":                             ("client", 302, 403, 403, 200, 200, 200, 200, 200),
    "GET /dispatch/":                                 (None,     302, 403, 403, 200, 200, 403, 403, 200),
    "GET /dispatch/live/":                            (None,     401, 403, 403, 200, 200, 403, 403, 200),
    "GET /dispatch/jobs/":                            (None,     302, 403, 403, 200, 200, 403, 403, 200),
    "GET /dispatch/fairness/":                        (None,     302, 403, 403, 200, 200, 403, 403, 200),
    "GET /dispatch/pools/{pk}/":                      ("pool",   302, 403, 403, 200, 200, 403, 403, 200),
    # A refused action shows its form again with the reason: no reason given (400).
    "POST /dispatch/pools/{pk}/drain/":               ("pool",   302, 403, 403, 403, 400, 403, 403, 400),
    "POST /dispatch/pools/{pk}/offline/":             ("pool",   302, 403, 403, 403, 400, 403, 403, 400),
    "POST /dispatch/pools/{pk}/activate/":            ("pool",   302, 403, 403, 403, 400, 403, 403, 400),
    # Booking a pool's time is the dispatch role's: an empty booking form comes back with its errors (400); a
    # cancellation without a reason is refused with a message on the pool's page (302 back).
    "POST /dispatch/pools/{pk}/reservations/":        ("pool",    302, 403, 403, 403, 400, 403, 403, 400),
    "POST /dispatch/reservations/{pk}/cancel/":       ("booking", 302, 403, 403, 403, 302, 403, 403, 302),
    # Scheduling a pool's capacity or state is the dispatch role's too, with the same answers.
    "POST /dispatch/pools/{pk}/changes/":             ("pool",        302, 403, 403, 403, 400, 403, 403, 400),
    "POST /dispatch/pool-changes/{pk}/cancel/":       ("pool_change", 302, 403, 403, 403, 302, 403, 403, 302),
    "GET /dispatch/orders/{pk}/priority/":            ("order",  302, 403, 403, 200, 200, 403, 403, 200),
    "POST /dispatch/orders/{pk}/priority/":           ("order",  302, 403, 403, 400, 400, 403, 403, 400),
    # What-if scenarios: dispatch and operations plan them together (dispatch.permissions.SCENARIO_ROLES). An empty
    # form comes back with its errors (400); a change without its number is refused with a message (302 back); a run
    # is queued (302 to its page: each cell's savepoint is rolled back, so each person's run is their only one).
    "GET /dispatch/scenarios/":                       (None,       302, 403, 403, 200, 200, 403, 403, 200),
    "POST /dispatch/scenarios/create/":               (None,       302, 403, 403, 400, 400, 403, 403, 400),
    "GET /dispatch/scenarios/compare/":               (None,       302, 403, 403, 200, 200, 403, 403, 200),
    "GET /dispatch/scenarios/{pk}/":                  ("scenario", 302, 403, 403, 200, 200, 403, 403, 200),
    "POST /dispatch/scenarios/{pk}/changes/":         ("scenario", 302, 403, 403, 400, 400, 403, 403, 400),
    "POST /dispatch/scenarios/{pk}/changes/remove/":  ("scenario", 302, 403, 403, 302, 302, 403, 403, 302),
    "POST /dispatch/scenarios/{pk}/run/":             ("scenario", 302, 403, 403, 302, 302, 403, 403, 302),
    "POST /dispatch/scenarios/{pk}/archive/":         ("scenario", 302, 403, 403, 302, 302, 403, 403, 302),
    "GET /dispatch/scenarios/runs/{pk}/":             ("run",      302, 403, 403, 200, 200, 403, 403, 200),
    "GET /dispatch/scenarios/runs/{pk}/progress/":    ("run",      401, 403, 403, 200, 200, 403, 403, 200),
    # Making a run's changes real books maintenance windows: the dispatch role's (an empty reason is refused).
    "POST /dispatch/scenarios/runs/{pk}/promote/":     ("run",      302, 403, 403, 403, 302, 403, 403, 302),
    # --- Client portal: client users only; another organization's object is 404 ----------------------------
    "GET /portal/tickets/":                           (None,     302, 200, 200, 403, 403, 403, 403, 403),
    "GET /portal/tickets/new/":                       (None,     302, 200, 200, 403, 403, 403, 403, 403),
    "GET /portal/tickets/{pk}/":                      ("ticket", 302, 200, 404, 403, 403, 403, 403, 403),
    "POST /portal/tickets/{pk}/messages/":            ("ticket", 302, 400, 404, 403, 403, 403, 403, 403),
    "POST /portal/tickets/{pk}/rate/":                ("ticket", 302, 400, 404, 403, 403, 403, 403, 403),
    "POST /portal/tickets/{pk}/status/":              ("ticket", 302, 400, 404, 403, 403, 403, 403, 403),
    "GET /portal/":                                   (None,     302, 200, 200, 403, 403, 403, 403, 403),
    # --- Notices: everyone signed in has an inbox; a notice is its recipient's (client A's here), 404 to others -----
    "GET /notifications/":                            (None,     302, 200, 200, 200, 200, 200, 200, 200),
    "GET /notifications/unread/":                     (None,     401, 200, 200, 200, 200, 200, 200, 200),
    "POST /notifications/read/":                      (None,     302, 302, 302, 302, 302, 302, 302, 302),
    "POST /notifications/{pk}/open/":                 ("notice", 302, 302, 404, 404, 404, 404, 404, 404),
    "GET /notifications/settings/":                   (None,     302, 200, 200, 200, 200, 200, 200, 200),
    "POST /notifications/settings/":                  (None,     302, 400, 400, 400, 400, 400, 400, 400),
    "GET /portal/statements/":                        (None,     302, 200, 200, 403, 403, 403, 403, 403),
    # --- Webhooks: the client organization's own (another's endpoint or delivery is 404); staff are refused. An
    # empty registration comes back with its errors (400); the delivery still waits to be sent, so sending it again
    # is refused with a message (302 back) or 409 -------------------------------------------------------------
    "GET /portal/webhooks/":                          (None,      302, 200, 200, 403, 403, 403, 403, 403),
    "POST /portal/webhooks/":                         (None,      302, 400, 400, 403, 403, 403, 403, 403),
    "GET /portal/webhooks/{pk}/":                     ("webhook", 302, 200, 404, 403, 403, 403, 403, 403),
    "POST /portal/webhooks/{pk}/disable/":            ("webhook", 302, 302, 404, 403, 403, 403, 403, 403),
    "POST /portal/webhooks/deliveries/{pk}/resend/":  ("webhook_delivery", 302, 302, 404, 403, 403, 403, 403, 403),
    # --- Statements: a client its own (another's is 404), every staff role any; operations and after-sales
    # issue them (here all refused with a message: client A's was issued within the hour) ---------------------
    "GET /statements/{pk}/":                          ("statement", 302, 200, 404, 200, 200, 200, 200, 200),
    "GET /statements/{pk}/pdf/":                      ("statement", 302, 200, 404, 200, 200, 200, 200, 200),
    "GET /statements/{pk}/csv/":                      ("statement", 302, 200, 404, 200, 200, 200, 200, 200),
    "POST /statements/issue/{pk}/":                   ("client",    302, 302, 404, 302, 403, 403, 302, 302),
    "GET /portal/orders/new/":                        (None,     302, 200, 200, 403, 403, 403, 403, 403),
    "GET /portal/orders/{pk}/":                       ("order",  302, 200, 404, 403, 403, 403, 403, 403),
    # An empty cancel or rating form comes back with its errors (400), as every form does.
    "POST /portal/orders/{pk}/cancel/":               ("order",  302, 400, 404, 403, 403, 403, 403, 403),
    "POST /portal/orders/{pk}/confirm/":              ("order",  302, 302, 404, 403, 403, 403, 403, 403),
    "POST /portal/orders/{pk}/rate/":                 ("order",  302, 400, 404, 403, 403, 403, 403, 403),
    "POST /portal/orders/{pk}/tracking-link/renew/":  ("order",  302, 302, 404, 403, 403, 403, 403, 403),
    "POST /portal/orders/{pk}/tracking-link/revoke/": ("order",  302, 302, 404, 403, 403, 403, 403, 403),
    # --- Security center: the security role only ----------------------------------------------------------
    "GET /security/reviews/":                         (None,     302, 403, 403, 403, 403, 200, 403, 200),
    "GET /security/reviews/history/":                 (None,     302, 403, 403, 403, 403, 200, 403, 200),
    "GET /security/reviews/{pk}/":                    ("review", 302, 403, 403, 403, 403, 200, 403, 200),
    "POST /security/reviews/{pk}/approve/":           ("review", 302, 403, 403, 403, 403, 400, 403, 400),
    "POST /security/reviews/{pk}/reject/":            ("review", 302, 403, 403, 403, 403, 400, 403, 400),
    # --- After-sales pages: after-sales and operations (aftersales.services.TICKET_ROLES) --------------------
    "GET /aftersales/tickets/":                       (None,     302, 403, 403, 200, 403, 403, 200, 200),
    "GET /aftersales/tickets/new/":                   (None,     302, 403, 403, 200, 403, 403, 200, 200),
    "GET /aftersales/tickets/{pk}/":                  ("ticket", 302, 403, 403, 200, 403, 403, 200, 200),
    "POST /aftersales/tickets/{pk}/messages/":        ("ticket", 302, 403, 403, 400, 403, 403, 400, 400),
    "POST /aftersales/tickets/{pk}/status/":          ("ticket", 302, 403, 403, 400, 403, 403, 400, 400),
    "POST /aftersales/tickets/{pk}/severity/":        ("ticket", 302, 403, 403, 400, 403, 403, 400, 400),
    "POST /aftersales/tickets/{pk}/follow-up-order/": ("ticket", 302, 403, 403, 400, 403, 403, 400, 400),
    # --- Public tracking link: no login, same answer for everyone --------------------------------------------
    "GET /track/{token}/":                            (None,     200, 200, 200, 200, 200, 200, 200, 200),
    # --- Django admin: superusers only (roles are not is_staff); others go to the admin's login --------------
    "GET /admin/":                                    (None,     302, 302, 302, 302, 302, 302, 302, 200),
    # --- API: anonymous callers get 401 ------------------------------------------------------------------
    "GET /api/v1/auth/token/":                        (None,     405, 405, 405, 405, 405, 405, 405, 405),
    "GET /api/v1/me/":                                (None,     401, 200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/orders/":                            (None,     401, 200, 200, 200, 200, 200, 200, 200),
    # The body is validated before the service checks the role, so dispatch and security get 400 here (403
    # with a valid body: orders.services.order_submit).
    "POST /api/v1/orders/":                           (None,     401, 400, 400, 400, 400, 400, 400, 400),
    "GET /api/v1/orders/quote/":                      (None,     401, 200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/orders/{pk}/":                       ("order",  401, 200, 404, 200, 200, 200, 200, 200),
    "POST /api/v1/orders/{pk}/accept/":               ("order",  401, 403, 404, 409, 403, 403, 403, 409),
    "POST /api/v1/orders/{pk}/cancel/":               ("order",  401, 400, 404, 400, 403, 403, 403, 400),
    "POST /api/v1/orders/{pk}/confirm/":              ("order",  401, 200, 404, 403, 403, 403, 403, 403),
    "POST /api/v1/orders/{pk}/deliver/":              ("order",  401, 403, 404, 409, 403, 403, 403, 409),
    "GET /api/v1/orders/{pk}/events/":                ("order",  401, 200, 404, 200, 200, 200, 200, 200),
    "POST /api/v1/orders/{pk}/rate/":                 ("order",  401, 400, 404, 403, 403, 403, 403, 403),
    "POST /api/v1/orders/{pk}/reject/":               ("order",  401, 403, 404, 400, 403, 403, 403, 400),
    # Operations and after-sales, as on the order page (ACTION_ROLES).
    "POST /api/v1/orders/{pk}/requirement-changes/":  ("order",  401, 403, 404, 400, 403, 403, 400, 400),
    "POST /api/v1/orders/{pk}/start-production/":     ("order",  401, 403, 404, 409, 403, 403, 403, 409),
    # Served by dispatch (it moves the order's jobs): operations and dispatch (dispatch.permissions); the empty
    # body is refused (400) before the delivered order's status would be (409).
    "POST /api/v1/orders/{pk}/priority/":             ("order",  401, 403, 404, 400, 400, 403, 403, 400),
    "GET /api/v1/pools/":                             (None,     401, 403, 403, 200, 200, 200, 200, 200),
    "GET /api/v1/pools/{pk}/":                        ("pool",   401, 403, 403, 200, 200, 200, 200, 200),
    "POST /api/v1/pools/{pk}/activate/":              ("pool",   401, 403, 403, 403, 400, 403, 403, 400),
    "POST /api/v1/pools/{pk}/drain/":                 ("pool",   401, 403, 403, 403, 400, 403, 403, 400),
    "POST /api/v1/pools/{pk}/offline/":               ("pool",   401, 403, 403, 403, 400, 403, 403, 400),
    "GET /api/v1/pools/{pk}/utilization/":            ("pool",   401, 403, 403, 200, 200, 200, 200, 200),
    "GET /api/v1/jobs/":                              (None,     401, 403, 403, 200, 200, 200, 200, 200),
    "GET /api/v1/jobs/{pk}/":                         ("job",    401, 403, 403, 200, 200, 200, 200, 200),
    # Scenarios: dispatch and operations; an empty body is refused by field (400); a run is queued (202).
    "GET /api/v1/scenarios/":                         (None,       401, 403, 403, 200, 200, 403, 403, 200),
    "POST /api/v1/scenarios/":                        (None,       401, 403, 403, 400, 400, 403, 403, 400),
    "GET /api/v1/scenarios/{pk}/":                    ("scenario", 401, 403, 403, 200, 200, 403, 403, 200),
    "POST /api/v1/scenarios/{pk}/changes/":           ("scenario", 401, 403, 403, 400, 400, 403, 403, 400),
    "POST /api/v1/scenarios/{pk}/remove-change/":     ("scenario", 401, 403, 403, 400, 400, 403, 403, 400),
    "POST /api/v1/scenarios/{pk}/archive/":           ("scenario", 401, 403, 403, 200, 200, 403, 403, 200),
    "POST /api/v1/scenarios/{pk}/run/":               ("scenario", 401, 403, 403, 202, 202, 403, 403, 202),
    "GET /api/v1/scenario-runs/{pk}/":                ("run",      401, 403, 403, 200, 200, 403, 403, 200),
    "POST /api/v1/scenario-runs/{pk}/promote/":       ("run",      401, 403, 403, 403, 400, 403, 403, 400),
    # Reservations and maintenance windows: dispatch and operations read them, dispatch books and cancels them (an
    # empty body is refused by field: 400).
    "GET /api/v1/reservations/":                      (None,      401, 403, 403, 200, 200, 403, 403, 200),
    "POST /api/v1/reservations/":                     (None,      401, 403, 403, 403, 400, 403, 403, 400),
    "GET /api/v1/reservations/{pk}/":                 ("booking", 401, 403, 403, 200, 200, 403, 403, 200),
    "POST /api/v1/reservations/{pk}/cancel/":         ("booking", 401, 403, 403, 403, 400, 403, 403, 400),
    "GET /api/v1/pool-changes/":                      (None,          401, 403, 403, 200, 200, 403, 403, 200),
    "POST /api/v1/pool-changes/":                     (None,          401, 403, 403, 403, 400, 403, 403, 400),
    "GET /api/v1/pool-changes/{pk}/":                 ("pool_change", 401, 403, 403, 200, 200, 403, 403, 200),
    "POST /api/v1/pool-changes/{pk}/cancel/":         ("pool_change", 401, 403, 403, 403, 400, 403, 403, 400),
    # Operations read reviews through the API (security/api.py), not in the security center's pages.
    "GET /api/v1/reviews/":                           (None,     401, 403, 403, 200, 403, 200, 403, 200),
    "GET /api/v1/reviews/{pk}/":                      ("review", 401, 403, 403, 200, 403, 200, 403, 200),
    "POST /api/v1/reviews/{pk}/approve/":             ("review", 401, 403, 403, 403, 403, 400, 403, 400),
    "POST /api/v1/reviews/{pk}/reject/":              ("review", 401, 403, 403, 403, 403, 400, 403, 400),
    "GET /api/v1/tickets/":                           (None,     401, 200, 200, 200, 403, 403, 200, 200),
    "POST /api/v1/tickets/":                          (None,     401, 400, 400, 400, 403, 403, 400, 400),
    "GET /api/v1/tickets/{pk}/":                      ("ticket", 401, 200, 404, 200, 403, 403, 200, 200),
    "POST /api/v1/tickets/{pk}/follow-up-order/":     ("ticket", 401, 403, 404, 400, 403, 403, 400, 400),
    "POST /api/v1/tickets/{pk}/messages/":            ("ticket", 401, 400, 404, 400, 403, 403, 400, 400),
    "POST /api/v1/tickets/{pk}/rate/":                ("ticket", 401, 400, 404, 403, 403, 403, 403, 403),
    "POST /api/v1/tickets/{pk}/severity/":            ("ticket", 401, 403, 404, 400, 403, 403, 400, 400),
    "POST /api/v1/tickets/{pk}/status/":              ("ticket", 401, 400, 404, 400, 403, 403, 400, 400),
    "GET /api/v1/webhooks/":                          (None,      401, 200, 200, 403, 403, 403, 403, 403),
    "POST /api/v1/webhooks/":                         (None,      401, 400, 400, 403, 403, 403, 403, 403),
    "GET /api/v1/webhooks/{pk}/":                     ("webhook", 401, 200, 404, 403, 403, 403, 403, 403),
    "POST /api/v1/webhooks/{pk}/disable/":            ("webhook", 401, 200, 404, 403, 403, 403, 403, 403),
    "GET /api/v1/webhooks/{pk}/deliveries/":          ("webhook", 401, 200, 404, 403, 403, 403, 403, 403),
    "POST /api/v1/webhook-deliveries/{pk}/resend/":   ("webhook_delivery", 401, 409, 404, 403, 403, 403, 403, 403),
    # Everyone signed in reads and marks their own notices; client A's notice is 404 to everyone else.
    "GET /api/v1/notifications/":                     (None,     401, 200, 200, 200, 200, 200, 200, 200),
    "POST /api/v1/notifications/read-all/":           (None,     401, 200, 200, 200, 200, 200, 200, 200),
    "POST /api/v1/notifications/{pk}/read/":          ("notice", 401, 200, 404, 404, 404, 404, 404, 404),
}
# fmt: on

# Open to anyone who holds the link: what they show is not scoped to an organization.
PUBLIC = {"/track/{token}/"}
# Query strings for URLs that need one to be meaningful.
QUERIES = {"/api/v1/orders/quote/": "product_type=model&size=small&priority=normal&data_sensitivity=internal"}


# --- Walking the URL configuration -------------------------------------------------------------------------


def _template(pattern) -> str:
    """A pattern as a readable template: `<int:pk>` and `(?P<pk>...)` both become `{pk}`; regex anchors go."""
    text = str(pattern)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)
    text = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text)
    text = text.replace("\\.", ".").replace("/?", "/").lstrip("^").rstrip("$")
    return text


def _walk(resolver, prefix=""):
    for entry in resolver.url_patterns:
        route = prefix + _template(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry, route)
        elif isinstance(entry, URLPattern):
            yield "/" + route


def _skipped(template: str) -> bool:
    return template in SKIPPED or (template.startswith(ADMIN) and template != ADMIN)


def url_templates() -> list[str]:
    """Every URL pattern of the site that the matrix must cover, in URLconf order, without duplicates."""
    return list(dict.fromkeys(template for template in _walk(get_resolver()) if not _skipped(template)))


def _rows_of(template: str) -> list[str]:
    return [key for key in EXPECTED if key.split(" ", 1)[1] == template]


def _cells():
    for template in url_templates():
        rows = _rows_of(template)
        if not rows:
            # One failing cell names the pattern that has no row yet.
            yield pytest.param(f"? {template}", "every role", id=f"? {template}")
        for key in rows:
            for role in ROLES:
                yield pytest.param(key, role, id=f"{key} {role}")


CELLS = list(_cells())


# --- The world: users of every role and org A's objects, built once for the module -------------------------


@dataclass
class World:
    users: dict
    ids: dict
    step_pk: int
    token: str
    # What a client user must never read: the other organization's name and its orders' and tickets' references.
    foreign: dict


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once and rolled back at the end of the module; each test runs in a savepoint inside it.

    The users are the personas of tests/conftest.py, made the same way: those fixtures are per test, and
    building the orders through the services for each of the ~700 cells would take minutes.
    """
    from dispatch.models import Job
    from dispatch.services import (
        dispatch_tick,
        pool_change_schedule,
        reservation_create,
        scenario_create,
        scenario_run_start,
    )
    from orders.models import Order, OrderStep
    from security.services import reviews_open_for_waiting_gates

    with django_db_blocker.unblock(), transaction.atomic():
        org_a = ClientOrganizationFactory(name="Organization A")
        org_b = ClientOrganizationFactory(name="Organization B")
        client_a = client_user(organization=org_a, username="client-a-user")
        users = {
            "anonymous": None,
            "client_a": client_a,
            "client_b": client_user(organization=org_b, username="client-b-user"),
            **user_per_role(),
        }
        ops = users["operations"]
        pools = [compute_pool(kind=kind, capacity=1000) for kind in ("data_processing", "training", "inference")]
        order = order_at("delivered", staff=ops, client=org_a, actor=client_a, data_sensitivity="sensitive")
        ticket = open_ticket(order=order, actor=client_a)
        order_at("awaiting_review", staff=ops, client=org_a, actor=client_a)
        (review,) = reviews_open_for_waiting_gates()
        order_at("in_production", staff=ops, client=org_a, actor=client_a)
        dispatch_tick(now=clock.now())
        job = Job.objects.order_by("pk").first()
        assert job is not None, "the dispatch tick placed no job: the job URLs would test nothing"
        step = OrderStep.objects.filter(stage__order=order).order_by("pk").first()
        # Organization B has an order too, so that client A has something to not see.
        order_b = place_order(client=org_b, actor=users["client_b"], title="Loan risk model")
        # A scenario with a change, and its run done (its result built for tests, not simulated).
        scenario = scenario_create(
            actor=users["dispatch"],
            name="Hall B cooling maintenance",
            horizon_days=30,
            changes=[{"kind": "pool_capacity", "pool": pools[1].pk, "capacity": 2000}],
        )
        run = finish_run(scenario_run_start(scenario=scenario, actor=users["dispatch"]), scenario_result([order]))
        ids = {"order": order.pk, "ticket": ticket.pk, "review": review.pk, "pool": pools[0].pk, "job": job.pk}
        ids["client"] = org_a.pk
        window = reservation_create(
            actor=users["dispatch"],
            kind="maintenance",
            pool=pools[2],
            start=clock.now() + timedelta(days=2),
            end=clock.now() + timedelta(days=3),
            reason="Hall C power work",
        )
        change = pool_change_schedule(
            actor=users["dispatch"],
            pool=pools[2],
            at=clock.now() + timedelta(days=5),
            capacity_pflops=1500,
            reason="Hall C racks added",
        )
        ids |= {"scenario": scenario.pk, "run": run.pk, "booking": window.pk, "pool_change": change.pk}
        ids["statement"] = statement_issue(client=org_a, actor=client_a).pk
        ids["notice"] = Notice.objects.filter(recipient=client_a).order_by("pk").first().pk
        # Org A's webhook endpoint (a public address: the URL rule's check is on here) and one delivery to it, queued
        # as the organization channel does once an event commits (this transaction never does: it waits).
        endpoint = webhook_services.endpoint_register(
            client=org_a,
            actor=client_a,
            url="https://93.184.215.14/hooks",
            kinds=["order_delivered"],
            secret="organization-a-own-secret",
        )
        webhook_services.deliveries_queue(
            kind="order_delivered",
            event=f"order-delivered:{order.pk}",
            organization_id=org_a.pk,
            params={"reference": order.reference, "title": order.title},
            url=f"/portal/orders/{order.pk}/",
            at=clock.now(),
        )
        ids["webhook"] = endpoint.pk
        ids["webhook_delivery"] = endpoint.deliveries.get().pk
        a_refs = [*Order.objects.filter(client=org_a).values_list("reference", flat=True), ticket.reference]
        # What each client may never read: the other organization's name, orders and tickets, and who on the
        # staff acted (the portal and the API both say "Factory staff"; ops-user accepted A's orders).
        staff_names = {
            user.username for role, user in users.items() if role not in ("anonymous", "client_a", "client_b")
        }
        foreign = {
            "client_a": {org_b.name, order_b.reference, order_b.title, *staff_names},
            "client_b": {org_a.name, *a_refs, *staff_names},
        }
        yield World(users=users, ids=ids, step_pk=step.pk, token=order.tracking_token, foreign=foreign)
        transaction.set_rollback(True)


def _url(template: str, obj: str | None, world: World) -> str:
    values = {"step_pk": world.step_pk, "token": world.token, "format": "json"}
    if obj is not None:
        values["pk"] = world.ids[obj]
    return template.format(**values)


def ask(world: World, key: str, role: str):
    method, template = key.split(" ", 1)
    obj = EXPECTED[key][0]
    http = Client(raise_request_exception=False)  # a crash is a 500 cell, not an error of the test
    if world.users[role] is not None:
        http.force_login(world.users[role])
    url = _url(template, obj, world)
    if template in QUERIES:
        url += "?" + QUERIES[template]
    if method == "GET":
        response = http.get(url)
    elif url.startswith("/api/"):
        response = http.post(url, {}, content_type="application/json")  # the API takes JSON bodies only
    else:
        response = http.post(url, {})
    return url, response


def _text_of(response) -> str:
    """What an answer says: a page's or a CSV's text, or a PDF's read back."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response["Content-Type"] == "application/pdf":
        return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    return body.decode("utf-8-sig")


# --- The tests -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "role"), CELLS)
def test_access_matrix(world, key, role):
    assert key in EXPECTED, (
        f"URL pattern {key.split(' ', 1)[1]!r} has no row in EXPECTED of {__name__}: add its expected answer "
        "for every role (or, for a URL outside the product, a commented entry in SKIPPED)."
    )
    expected = EXPECTED[key][1 + ROLES.index(role)]

    url, response = ask(world, key, role)

    assert response.status_code == expected, f"{key.split()[0]} {url} as {role}: {response.status_code}"
    template = key.split(" ", 1)[1]
    if response.status_code == 302 and template != ADMIN:  # the admin sends everyone else to its own login
        # Anonymous page views go to the login page; a signed-in user is answered, never sent back to sign in.
        to_login = response["Location"].startswith(reverse("login"))
        assert to_login == (role == "anonymous"), f"{url} as {role} redirects to {response['Location']}"
    if role in world.foreign and response.status_code == 200 and template not in PUBLIC:
        body = _text_of(response)
        leaked = sorted(text for text in world.foreign[role] if text in body)
        assert not leaked, f"{url} shows {role} another organization's {leaked}"


def test_every_row_names_a_url_pattern_that_exists():
    templates = set(url_templates())
    stale = [key for key in EXPECTED if key.split(" ", 1)[1] not in templates]
    assert not stale, f"rows for URL patterns that no longer exist (or are skipped): {stale}"
    bad = [key for key, row in EXPECTED.items() if len(row) != 1 + len(ROLES)]
    assert not bad, f"rows without one answer per role: {bad}"


def test_summary():
    """How much the matrix covers; every row is asked of every role."""
    checked = [cell for cell in CELLS if cell.values[0] in EXPECTED]
    urls = {key.split(" ", 1)[1] for key in EXPECTED}
    print(
        f"\naccess matrix: {len(checked)} cells checked = {len(EXPECTED)} rows ({len(urls)} URL patterns) "
        f"x {len(ROLES)} roles; skipped: {len(SKIPPED)} patterns and the admin's internals"
    )
    assert len(checked) == len(EXPECTED) * len(ROLES)
