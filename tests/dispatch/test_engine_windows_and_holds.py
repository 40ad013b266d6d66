"""Maintenance windows and capacity holds in the dispatch engine: the planner keeps long work off a pool that
closes before it would finish, and keeps held room for its owner; the simulation closes pools in their windows
and starts a reserved order at its hold's start. Pure Python, no database."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.engine.planner import (
    HELD,
    HIGH,
    LOW,
    MAINTENANCE,
    NORMAL,
    REASONS,
    URGENT,
    Hold,
    JobState,
    PoolState,
    plan,
)
from dispatch.engine.plans import OrderPlan, StepSpec, Window
from dispatch.engine.simulation import simulate

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
_ids = itertools.count(1)


def pool(pool_id, *, capacity=10.0, closes_in=None, trusted=True, state="active"):
    return PoolState(
        id=pool_id,
        kind="training",
        capacity=capacity,
        background=0.0,
        trusted_in_province=trusted,
        state=state,
        closes_at=None if closes_in is None else NOW + closes_in * H,
    )


def job(*, hours, demand=10.0, priority=NORMAL, client=1, order_id=None, pool_id=None):
    job_id = next(_ids)
    return JobState(
        id=job_id,
        order_id=job_id if order_id is None else order_id,
        client_id=client,
        kind="training",
        demand=demand,
        work_remaining=demand * hours,
        priority=priority,
        deadline=NOW + 10 * 24 * H,
        queued_at=NOW,
        sensitive=False,
        pool_id=pool_id,
    )


def run(pools, queued, running=(), holds=()):
    return plan(pools=pools, queued=list(queued), running=list(running), now=NOW, holds=holds)


def hold(pool_id, start, end, pflops=10.0, *, client=None, order=None):
    return Hold(
        pool_id=pool_id, start=NOW + start * H, end=NOW + end * H, pflops=pflops, client_id=client, order_id=order
    )


# --- planner: maintenance windows ------------------------------------------------------------------------------


def test_the_new_reasons_are_known_codes():
    assert MAINTENANCE in REASONS
    assert HELD in REASONS


def test_a_job_that_would_not_finish_before_the_window_goes_to_another_pool():
    closing = pool(1, capacity=10, closes_in=3)  # best fit would pick it: the smallest hole that holds the job
    roomy = pool(2, capacity=100)
    long_job = job(hours=5)

    result = run([closing, roomy], [long_job])

    assert result.placements == [(long_job.id, 2)]


def test_a_job_that_finishes_before_the_window_still_starts_on_the_closing_pool():
    short_job = job(hours=3)  # ends exactly when the window starts

    result = run([pool(1, capacity=10, closes_in=3), pool(2, capacity=100)], [short_job])

    assert result.placements == [(short_job.id, 1)]


def test_a_job_that_fits_only_a_closing_pool_waits_for_maintenance_and_a_short_one_backfills():
    long_job = job(hours=5, priority=HIGH)
    short_job = job(hours=2, priority=LOW)

    result = run([pool(1, capacity=10, closes_in=3)], [long_job, short_job])

    assert result.placements == [(short_job.id, 1)]
    assert result.waiting[long_job.id].reason == MAINTENANCE
    assert long_job.id not in result.reservations  # no reservation across the window


def test_a_queue_head_is_not_promised_a_start_across_a_window():
    busy = job(hours=2, pool_id=1)  # pool 1 frees up at +2 h but closes at +3 h
    other_busy = job(hours=6, pool_id=2)
    head = job(hours=4)

    result = run([pool(1, closes_in=3), pool(2)], [head], [busy, other_busy])

    assert result.reservations[head.id] == (2, NOW + 6 * H)


@pytest.mark.parametrize(("closes_in", "evicted"), [(None, True), (3, False), (5, True)])
def test_urgent_work_preempts_on_a_closing_pool_only_if_it_finishes_before_the_window(closes_in, evicted):
    low = job(hours=10, priority=LOW, pool_id=1)
    urgent = job(hours=5, priority=URGENT)
    urgent.queued_at = NOW - 2 * H  # past the preemption threshold

    result = run([pool(1, closes_in=closes_in)], [urgent], [low])

    assert (result.preemptions == [(low.id, urgent.id)]) is evicted
    assert (result.placements == [(urgent.id, 1)]) is evicted


# --- planner: holds -----------------------------------------------------------------------------------------------


def test_held_room_is_backfilled_before_its_start_only_by_work_that_ends_by_then():
    long_high = job(hours=5, priority=HIGH, client=2)
    short_low = job(hours=3, priority=LOW, client=3)
    held = hold(1, 3, 10, client=1)

    result = run([pool(1)], [long_high, short_low], holds=[held])

    assert result.placements == [(short_low.id, 1)]
    assert result.waiting[long_high.id].reason == HELD


def test_a_partial_hold_leaves_the_rest_of_the_pool_to_anyone():
    long_job = job(hours=8, demand=4.0, client=2)
    held = hold(1, 3, 10, pflops=6.0, client=1)

    result = run([pool(1)], [long_job], holds=[held])

    assert result.placements == [(long_job.id, 1)]


def test_while_a_hold_is_active_its_owner_gets_the_room_before_urgent_work_of_others():
    urgent = job(hours=2, priority=URGENT, client=2)
    owners = job(hours=4, priority=LOW, client=1, order_id=77)
    held = hold(1, -1, 10, order=77)

    result = run([pool(1)], [urgent, owners], holds=[held])

    assert result.placements == [(owners.id, 1)]
    assert result.waiting[urgent.id].reason == HELD


def test_a_client_hold_covers_every_order_of_that_client():
    first = job(hours=4, demand=5.0, client=1)
    second = job(hours=4, demand=5.0, client=1)
    stranger = job(hours=1, demand=5.0, client=2, priority=URGENT)

    result = run([pool(1)], [stranger, first, second], holds=[hold(1, 0, 10, client=1)])

    assert sorted(result.placements) == sorted([(first.id, 1), (second.id, 1)])
    assert result.waiting[stranger.id].reason == HELD


def test_the_owners_running_work_fills_its_hold_so_others_may_use_the_rest():
    owners_running = job(hours=20, demand=6.0, client=1, pool_id=1)
    other = job(hours=8, demand=4.0, client=2)

    result = run([pool(1)], [other], [owners_running], holds=[hold(1, 2, 10, pflops=6.0, client=1)])

    assert result.placements == [(other.id, 1)]


def test_a_hold_that_is_over_changes_nothing():
    long_job = job(hours=8, client=2)

    result = run([pool(1)], [long_job], holds=[hold(1, -5, -1, client=1)])

    assert result.placements == [(long_job.id, 1)]


# --- simulation ----------------------------------------------------------------------------------------------------


def order(order_id, hours, *, priority=NORMAL, arrival=NOW, client=None, demand=10.0, **more):
    return OrderPlan(
        order_id=order_id,
        client_id=order_id if client is None else client,
        priority=priority,
        deadline=arrival + 30 * 24 * H,
        sensitive=False,
        stages=[[StepSpec(kind="training", demand=demand, work=demand * hours)]],
        gate_hours=0.0,
        arrival=arrival,
        **more,
    )


def sim(pools, orders, **options):
    return simulate(pools=pools, orders=orders, now=NOW, background=False, **options)


def starts(result):
    """(hours from NOW, order, pool) of every start."""
    return [((at - NOW) / H, order_id, pool_id) for at, order_id, pool_id in result.start_log]


def window(pool_id, start, end, state="offline"):
    return Window(pool_id=pool_id, start=NOW + start * H, end=NOW + end * H, state=state)


def test_a_job_that_would_run_into_the_window_waits_for_its_end_and_nothing_is_evicted():
    result = sim(
        [pool(1)],
        [order(1, 12), order(2, 4, priority=LOW)],
        maintenance=[window(1, 10, 20)],
        sample_every=H,
    )

    assert starts(result) == [(0.0, 2, 1), (20.0, 1, 1)]  # the short one fits before the window, the long one after
    assert result.eviction_log == []
    assert result.orders[1].finished_at == NOW + 32 * H
    during = [s for s in result.samples if NOW + 10 * H <= s.at < NOW + 20 * H]
    assert len(during) == 10
    assert all(s.used["training"] == 0.0 and s.offered["training"] == 0.0 for s in during)


def test_work_that_would_not_finish_before_the_window_runs_on_another_pool():
    result = sim([pool(1), pool(2)], [order(1, 12), order(2, 12)], maintenance=[window(1, 10, 20)])

    assert sorted(p for _, _, p in starts(result)) == [2, 2]
    assert result.eviction_log == []


def test_a_job_running_when_the_window_was_announced_is_stopped_with_its_progress_and_resumes_after():
    running = order(1, 10, current_job_progress=30.0, running_pool_id=1)  # 7 h left, from before the window was set

    result = sim([pool(1)], [running], maintenance=[window(1, 1, 5)])

    assert result.eviction_log == [(NOW + 1 * H, 1, 1)]
    assert starts(result) == [(5.0, 1, 1)]
    assert result.orders[1].finished_at == NOW + 11 * H  # 1 h done before the window, 6 h after it


def test_a_draining_window_lets_running_work_finish_and_starts_nothing_new_until_its_end():
    long = order(1, 12)  # starts before the window although it runs into it: a draining pool lets it finish
    later = order(2, 2, arrival=NOW + 11 * H)

    result = sim([pool(1)], [long, later], maintenance=[window(1, 10, 20, state="draining")])

    assert result.eviction_log == []
    assert starts(result) == [(0.0, 1, 1), (20.0, 2, 1)]
    assert result.orders[1].finished_at == NOW + 12 * H
    assert result.orders[2].finished_at == NOW + 22 * H


def test_a_draining_window_over_a_pool_offline_leaves_it_offline_and_a_window_brings_back_the_state_it_found():
    closed = sim([pool(1, state="offline")], [order(1, 2)], maintenance=[window(1, 0, 5, state="draining")])
    assert closed.orders[1].finished_at is None

    result = sim([pool(1)], [order(1, 2, arrival=NOW + H)], maintenance=[window(1, 0, 5, state="draining")])
    assert starts(result) == [(5.0, 1, 1)]


def test_a_window_already_open_keeps_the_pool_closed_until_its_end():
    result = sim([pool(1)], [order(1, 2)], maintenance=[window(1, -1, 3)])

    assert starts(result) == [(3.0, 1, 1)]


def test_a_reserved_order_starts_at_its_holds_start_even_with_higher_priority_work_queued():
    urgent = order(1, 10, priority=URGENT)
    short = order(2, 4, priority=LOW)
    middling = order(3, 7, priority=NORMAL)
    reserved = order(9, 5, priority=LOW, arrival=NOW + 6 * H)
    held = hold(1, 6, 11, order=9)

    result = sim([pool(1)], [urgent, short, middling, reserved], holds=[held])

    assert (6.0, 9, 1) in starts(result)
    assert result.orders[9].finished_at == NOW + 11 * H
    # Before the hold's start, only work that ends by then used its room.
    before = [(at, order_id) for at, order_id, _ in starts(result) if at < 6]
    assert before == [(0.0, 2)]
    assert result.orders[2].finished_at <= NOW + 6 * H
    assert starts(result)[2] == (11.0, 1, 1)  # the urgent order goes as soon as the hold ends


def test_a_client_hold_of_part_of_a_pool_leaves_the_rest_to_others():
    others = order(1, 20, demand=4.0, priority=URGENT)
    reserved = order(9, 5, demand=6.0, client=5, arrival=NOW + 3 * H)

    result = sim([pool(1)], [others, reserved], holds=[hold(1, 3, 8, pflops=6.0, client=5)])

    assert starts(result) == [(0.0, 1, 1), (3.0, 9, 1)]


@pytest.mark.parametrize("tick", [None, timedelta(minutes=5)])
def test_without_windows_or_holds_in_force_the_run_is_the_same_as_without_them(tick):
    orders = [order(i, 3 + i % 5, priority=(LOW, NORMAL, HIGH)[i % 3], arrival=NOW + (i % 7) * H) for i in range(1, 30)]
    pools = [pool(1), pool(2, capacity=20.0)]

    plain = sim(pools, orders, tick=tick)
    past = sim(pools, orders, tick=tick, maintenance=[window(1, -10, -2)], holds=[hold(2, -10, -1, client=3)])

    assert {o.order_id: o.finished_at for o in past.orders.values()} == {
        o.order_id: o.finished_at for o in plain.orders.values()
    }
    assert past.start_log == plain.start_log


def test_a_closes_at_given_to_the_simulation_is_ignored_the_windows_say_when_pools_close():
    result = sim([pool(1, closes_in=2)], [order(1, 5)])

    assert starts(result) == [(0.0, 1, 1)]


def test_a_window_or_hold_naming_an_unknown_pool_is_refused():
    with pytest.raises(ValueError, match="pool 7"):
        sim([pool(1)], [order(1, 2)], maintenance=[window(7, 1, 2)])
    with pytest.raises(ValueError, match="pool 7"):
        sim([pool(1)], [order(1, 2)], holds=[hold(7, 1, 2, client=1)])
