"""The demo factory: users, client organizations, compute pools, and a past that every chart can show.

The story is played through the real services on the factory clock held in the past: every order, review and ticket
is placed, accepted, produced, reviewed, delivered, rated and answered at its own moment in the past, all
of them in one chronological sweep, so timelines, references and SLA flags come out as they would have.
The compute history (the jobs that ran those steps, utilization and queue samples) is then derived from
the steps' own start and finish times; a dispatch tick places the work waiting now and a forecast sets ETAs.

The factory is normally loaded: ON_THE_FLOOR orders in production or at a gate, drawn as a steady state holds
them (specs._floor), and one delivery in eight of the history late against its promise (timeline.keep_promises).
Its present is built (history._present) so that the first factory hours show a queue with its reasons, a
preemption and backfill.

Idempotent: the story is built once (the demo organizations beyond the two fixed clients mark it); later
runs only make sure the fixed demo users exist.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction

from aftersales import services as aftersales_services
from aftersales.models import Ticket, TicketMessage
from demo import data, staff
from demo.story.history import write_history
from demo.story.play import Story, demo_organization
from demo.story.specs import (
    DEMO_CLIENTS,
    DEMO_STAFF,
    ORGANIZATIONS,
    STORY_MARKER,
    curated_orders,
    filler_orders,
    forget_catalog,
)
from demo.story.timeline import delivery_moment, keep_promises, plan_order, plan_rng
from demo.sweep import play
from dispatch import forecast
from dispatch import services as dispatch_services
from dispatch.models import ComputePool, ComputeSite, Job, UtilizationSample
from factory import clock
from notifications.services import replaying_the_past
from orders import extensions, quotes
from orders.models import ClientOrganization, Order, OrderEvent, OrderStage, OrderStep
from orders.services import client_user_attach
from security import services as security_services
from security.models import Review


def build_demo() -> str:
    """The demo users and pools, and the story once: what was made, in a sentence."""
    with transaction.atomic():
        built = ClientOrganization.objects.filter(name=STORY_MARKER).exists()
        created = create_users()
        pools = create_pools()
        summary = "the demo factory was already there" if built else play_story()
    return f"Demo users ready ({created} created); {pools} compute pools; {summary}"


def create_users() -> int:
    User = get_user_model()
    created = 0
    # Hashing is slow on purpose; the demo users share one password, so they share its hash.
    password = make_password(settings.DEMO_PASSWORD)
    for username, role in DEMO_STAFF.items():
        user, is_new = User.objects.get_or_create(username=username, defaults={"is_staff": role is None})
        if is_new:
            user.is_superuser = role is None
            user.password = password
            user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))
            created += 1
    for username, key in DEMO_CLIENTS.items():
        organization = demo_organization(key)
        user, is_new = User.objects.get_or_create(username=username)
        if is_new:
            user.password = password
            user.save()
            client_user_attach(user=user, organization=organization)
            created += 1
    return created


def create_pools() -> int:
    for site_name, site, pool, seed in data.seeded_pools():
        compute_site, _ = ComputeSite.objects.get_or_create(
            name=site_name,
            defaults={"city": site.city, "in_province": site.in_province, "monitored_pflops": site.monitored_pflops},
        )
        ComputePool.objects.get_or_create(
            name=pool.name,
            defaults={
                "site": compute_site,
                "kind": pool.kind,
                "trusted": pool.trusted,
                "capacity_pflops": Decimal(pool.pflops),
                "price_per_pflops_hour": Decimal(pool.price),
                "background_seed": seed,
            },
        )
    return ComputePool.objects.count()


def play_story() -> str:
    rng = staff.seeded_rng(staff.SEED, "demo-data")
    now = clock.now().replace(second=0, microsecond=0)
    for key in ORGANIZATIONS:
        staff.sim_client(demo_organization(key))
    forget_catalog()
    curated = curated_orders()
    specs = curated + filler_orders(rng, curated)
    plans = {spec.key: plan_order(spec, plan_rng(spec)) for spec in specs}
    keep_promises(specs, plans, now, rng)
    placed = {key: now - timedelta(hours=plan.cut) for key, plan in plans.items()}
    story = Story(now, rng)
    streams: list[Iterator[datetime]] = []
    for spec in specs:
        streams.append(story.order_story(plans[spec.key], placed[spec.key]))
        delivered_at = delivery_moment(plans[spec.key], placed[spec.key])
        for ticket in spec.tickets:
            if ticket.follow_up:
                # Opened a day before the follow-up order it led to, answered, resolved once that order is placed.
                follow_up_placed = placed[ticket.follow_up]
                opened = follow_up_placed - timedelta(hours=26)
                ticket.script.append((26.5, "resolved", "Follow-up order placed for the new camera line."))
            else:
                opened = now - timedelta(hours=ticket.opened_ago)
            if delivered_at is None or opened <= delivered_at:
                raise ValueError(f"Demo ticket {ticket.key} would open before its order was delivered.")
            streams.append(story.ticket_story(ticket, spec, opened))
    # Promises of the past come from the catalog's nominal quote: a queue-aware one would run a forward simulation of
    # the ~70 orders on the floor for each order placed, and the past has no jobs to simulate yet (write_history).
    streams.append(planner_statistics(min(placed.values()), now))
    # The past fills the demo people's inboxes as it happened, without mailing them all of it at start-up.
    with clock.held(now) as hands, extensions.estimated_by(quotes.nominal_quote), replaying_the_past():
        play(streams, hands, until=now, strict=True)
    write_history(story, now)
    set_budgets()
    book_pool_time(now)
    set_entitlements()
    # Work waiting now is placed on the pools, gates get their reviews, ETAs are forecast, SLAs watched. The tick and
    # the forecast run at the story's present, however long building it took on an accelerated clock (bin/run): the
    # next tick advances the running jobs by the time that passed since, and the showcase waits counted from there.
    dispatch_services.dispatch_tick(now=now)
    security_services.reviews_open_for_waiting_gates()
    forecast.forecast_etas(now=now)
    aftersales_services.sla_watch()
    return (
        f"{Order.objects.count()} orders, {Job.objects.count()} jobs, {Review.objects.count()} reviews, "
        f"{UtilizationSample.objects.count()} utilization samples"
    )


# The tables the story grows, and the ones its services look up by them.
STORY_TABLES = (Order, OrderStage, OrderStep, OrderEvent, Review, Ticket, TicketMessage)


def planner_statistics(start: datetime, until: datetime) -> Iterator[datetime]:
    """Refresh Postgres' statistics of the story's tables once a factory day. The story is one transaction, so
    autovacuum never sees its rows, and without statistics the planner may take thousands of steps for an empty
    table: on Postgres 18 it then scanned every step of every order to find the order of one finishing step,
    seconds per action. ANALYZE in the same transaction counts the rows the transaction wrote."""
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in STORY_TABLES)
    moment = start
    while moment <= until:
        yield moment
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")
        moment += timedelta(days=1)


def book_pool_time(now: datetime) -> None:
    """A maintenance window next week, a reservation the hospital bought and more inference capacity from a date, so a
    newcomer sees each on the pool pages and in every ETA the forecast gives."""
    dispatcher = get_user_model().objects.get(username="dispatcher")
    day = (now + timedelta(days=5)).replace(hour=22, minute=0)
    dispatch_services.reservation_create(
        actor=dispatcher,
        kind="maintenance",
        pool=ComputePool.objects.get(name="qinghe-train"),
        start=day,
        end=day + timedelta(hours=10),
        reason="Cooling loop service agreed with the Qinghe Industrial Park Data Center.",
    )
    dispatch_services.reservation_create(
        actor=dispatcher,
        kind="reservation",
        pool=ComputePool.objects.get(name="xinghe-train-trusted"),
        start=day - timedelta(days=2),
        end=day + timedelta(days=1),
        pflops=120,
        client=demo_organization("qinghe-hospital"),
        reason="The hospital's quarterly imaging model refresh, bought ahead.",
    )
    dispatch_services.pool_change_schedule(
        actor=dispatcher,
        pool=ComputePool.objects.get(name="xinghe-infer-trusted"),
        at=(now + timedelta(days=12)).replace(hour=8, minute=0),
        capacity_pflops=240,
        reason="Sixty PFLOPS of new inference racks accepted by the Xinghe center on the 12th.",
    )


# A few clients entitled to more of some pool kinds than the others (weight 1, the default), so the fairness page
# and the queue show entitlements at work: the hospital's large training programme, the bank's inference services,
# the data bureau's data processing.
DEMO_ENTITLEMENTS = (
    ("qinghe-hospital", "training", 3),
    ("qinghe-hospital", "inference", 2),
    ("jinhai-rural-bank", "training", 2),
    ("jinhai-rural-bank", "inference", 3),
    ("lanxi-data-bureau", "data_processing", 2),
)


def set_entitlements() -> None:
    """The clients' entitlements of DEMO_ENTITLEMENTS, for fair share."""
    for key, kind, weight in DEMO_ENTITLEMENTS:
        dispatch_services.client_entitlement_set(client=demo_organization(key), kind=kind, weight=Decimal(weight))


def set_budgets() -> None:
    """Monthly compute budgets of three clients, for the dispatch center's budget table (not enforced)."""
    for key, budget in (("qinghe-hospital", 90000), ("jinhai-rural-bank", 60000), ("lanxi-data-bureau", 40000)):
        dispatch_services.client_budget_set(
            client=demo_organization(key), monthly_pflops_hours=Decimal(budget), enforce=False
        )
