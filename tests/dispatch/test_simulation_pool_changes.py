"""What-if pieces of the forward simulation: pools that change over time, usage samples, progress, and
scaled arrivals. Pure Python, no database."""

import itertools
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.engine.planner import (
    ACTIVE,
    DEFAULT_POLICY,
    DRAINING,
    FIFO_POLICY,
    LOW,
    NORMAL,
    OFFLINE,
    URGENT,
    PoolState,
)
from dispatch.engine.plans import OrderPlan, PoolChange, StepSpec
from dispatch.engine.simulation import scale_arrivals, simulate

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
DAY = 24 * H


def pool(pool_id, *, capacity=10.0, kind="training", state=ACTIVE, background=0.0):
    return PoolState(
        id=pool_id, kind=kind, capacity=capacity, background=background, trusted_in_province=True, state=state
    )


def order(order_id, *stages, priority=NORMAL, due=60 * DAY, gate_hours=0.0, arrival=NOW, client=None, **more):
    return OrderPlan(
        order_id=order_id,
        client_id=order_id if client is None else client,
        priority=priority,
        deadline=arrival + due,
        sensitive=False,
        stages=[list(stage) for stage in stages],
        gate_hours=gate_hours,
        arrival=arrival,
        **more,
    )


def step(hours, demand=10.0, kind="training"):
    return StepSpec(kind=kind, demand=demand, work=demand * hours)


def change(hours, pool_id, state=None, capacity=None):
    return PoolChange(at=NOW + hours * H, pool_id=pool_id, state=state, capacity=capacity)


def sim(pools, orders, **options):
    options.setdefault("background", False)
    return simulate(pools=pools, orders=orders, now=NOW, **options)


def starts(result):
    """(hours from NOW, order, pool) of every start."""
    return [((at - NOW) / H, order_id, pool_id) for at, order_id, pool_id in result.start_log]


# --- Pool changes ----------------------------------------------------------------------------------------------


def test_a_pool_offline_for_three_days_stops_a_long_training_job_which_resumes_with_its_progress():
    training = order(1, [step(240)])  # ten days on the one pool
    outage = [change(48, 1, OFFLINE), change(48 + 72, 1, ACTIVE)]

    plain = sim([pool(1)], [training])
    result = sim([pool(1)], [training], pool_changes=outage, sample_every=6 * H)

    assert result.eviction_log == [(NOW + 48 * H, 1, 1)]
    assert result.preemptions == 0
    assert starts(result) == [(0.0, 1, 1), (120.0, 1, 1)]  # back on its pool the moment it returns
    delay = result.orders[1].finished_at - plain.orders[1].finished_at
    assert 72 * H <= delay <= 73 * H  # the outage, and nothing of the 48 h done is lost
    assert result.orders[1].steps[0][0][0] == NOW  # its first start is kept through the stop
    assert result.used_pflops_hours == pytest.approx(2400)
    assert result.wait_log[-1] == (NOW + 120 * H, NORMAL, 72.0)  # queued again from the stop
    in_outage = [s for s in result.samples if NOW + 48 * H <= s.at < NOW + 120 * H]
    assert len(in_outage) == 12
    assert all(s.used["training"] == 0 and s.offered["training"] == 0 for s in in_outage)
    assert all(s.used["training"] == 10 for s in result.samples if s.at < NOW + 48 * H)


def test_a_job_stopped_by_an_outage_moves_to_another_pool_that_frees_first():
    training = order(1, [step(240)])
    other = order(2, [step(96)], arrival=NOW - H, running_pool_id=2)  # holds pool 2 for four days
    outage = [change(48, 1, OFFLINE), change(120, 1, ACTIVE)]

    plain = sim([pool(1), pool(2)], [training, other])
    result = sim([pool(1), pool(2)], [training, other], pool_changes=outage)

    assert result.eviction_log == [(NOW + 48 * H, 1, 1)]
    assert (96.0, 1, 2) in starts(result)
    assert not [s for s in starts(result) if 48 <= s[0] < 120 and s[2] == 1]
    assert result.orders[1].finished_at - plain.orders[1].finished_at == 48 * H  # it waited for pool 2
    assert result.orders[2].finished_at == plain.orders[2].finished_at


def test_a_pool_offline_from_the_start_requeues_the_job_running_there_with_its_progress():
    running = order(1, [step(10)], current_job_progress=40.0, running_pool_id=1)

    result = sim([pool(1), pool(2)], [running], pool_changes=[change(-1, 1, OFFLINE)])

    assert result.eviction_log == [(NOW, 1, 1)]
    assert starts(result) == [(0.0, 1, 2)]
    assert result.orders[1].finished_at == NOW + 6 * H  # 60 of its 100 PFLOPS·h left


def test_a_draining_pool_finishes_its_running_job_and_starts_nothing_new_until_it_is_active_again():
    orders = [
        order(1, [step(10)]),  # pool 1 (best fit takes the first pool of equal room), runs through the drain
        order(2, [step(10)]),  # pool 2
        order(3, [step(4)], arrival=NOW + 2 * H),
        order(4, [step(4)], arrival=NOW + 2 * H),
        order(5, [step(5)], arrival=NOW + 29 * H),
        order(6, [step(5)], arrival=NOW + 29 * H),
    ]
    drain = [change(1, 1, DRAINING), change(30, 1, ACTIVE)]

    plain = sim([pool(1), pool(2)], orders)
    result = sim([pool(1), pool(2)], orders, pool_changes=drain, sample_every=H)

    assert result.orders[1].finished_at == plain.orders[1].finished_at == NOW + 10 * H
    assert not [s for s in starts(result) if 1 <= s[0] < 30 and s[2] == 1]
    assert result.orders[4].finished_at == NOW + 18 * H  # after order 3 on pool 2, not beside it on pool 1
    assert plain.orders[4].finished_at == NOW + 14 * H
    assert (30.0, 6, 1) in starts(result)  # pool 1 works again from 30 h
    assert result.eviction_log == []
    at_5h = result.samples[5]
    assert (at_5h.used["training"], at_5h.offered["training"]) == (20.0, 10.0)  # its job runs, its room is gone


def test_a_job_too_large_for_every_pool_waits_aside_and_runs_once_a_pool_grows():
    large = order(1, [step(3, demand=20)])
    small = order(2, [step(2, demand=10)])

    never = sim([pool(1)], [large, small])
    grown = sim([pool(1)], [large, small], pool_changes=[change(5, 1, capacity=20)])

    assert never.orders[1].finished_at is None
    assert starts(grown) == [(0.0, 2, 1), (5.0, 1, 1)]
    assert grown.orders[1].finished_at == NOW + 8 * H
    assert grown.wait_log[-1] == (NOW + 5 * H, NORMAL, 5.0)  # it waited from its arrival


def test_a_lower_capacity_stops_the_running_work_beyond_it_and_sets_aside_what_no_longer_fits():
    running = order(1, [step(10, demand=20)])
    waiting = order(2, [step(1, demand=10)], arrival=NOW + H)
    too_large = order(3, [step(1, demand=20)], arrival=NOW + 3 * H)

    result = sim([pool(1, capacity=20)], [running, waiting, too_large], pool_changes=[change(2, 1, capacity=10)])

    # As the tick does (a pool never runs more than its capacity): stopped with its progress, then too large to run.
    assert result.eviction_log == [(NOW + 2 * H, 1, 1)]
    assert starts(result) == [(0.0, 1, 1), (2.0, 2, 1)]
    assert result.orders[1].finished_at is None
    assert result.orders[3].finished_at is None


def test_a_capacity_cut_stops_the_least_urgent_latest_started_work_until_the_rest_fits():
    urgent = order(1, [step(10, demand=4)], priority=URGENT)
    early = order(2, [step(10, demand=3)], priority=LOW)
    late = order(3, [step(10, demand=3)], priority=LOW, arrival=NOW + H)

    result = sim([pool(1, capacity=10)], [urgent, early, late], pool_changes=[change(2, 1, capacity=7)])

    assert result.eviction_log == [(NOW + 2 * H, 3, 1)]
    assert result.orders[1].finished_at == NOW + 10 * H
    assert result.orders[2].finished_at == NOW + 10 * H


def test_a_new_pool_offline_then_active_takes_work_from_its_start_and_counts_in_the_room_from_then():
    first, second = order(1, [step(48)]), order(2, [step(48)])
    new = pool(-1, state=OFFLINE)

    result = sim([pool(1), new], [first, second], pool_changes=[change(24, -1, ACTIVE)])

    assert starts(result) == [(0.0, 1, 1), (24.0, 2, -1)]
    assert result.orders[2].finished_at == NOW + 72 * H
    assert result.available_pflops_hours == pytest.approx(10 * 72 + 10 * 48)
    assert result.utilization == pytest.approx(960 / 1200)


def test_a_new_pool_with_seeded_background_offers_room_only_from_its_start():
    new = pool(-1, state=OFFLINE)
    lone = order(1, [step(24, demand=5)])

    without = simulate(pools=[pool(1), new], orders=[lone], now=NOW, seed=3)
    added = simulate(pools=[pool(1), new], orders=[lone], now=NOW, seed=3, pool_changes=[change(12, -1, ACTIVE)])

    assert added.orders[1].finished_at == without.orders[1].finished_at
    assert 0 < added.available_pflops_hours - without.available_pflops_hours < 10 * 12


def test_sensitive_work_waits_while_the_trusted_pool_is_offline_and_other_work_goes_on():
    trusted, untrusted = pool(1), replace(pool(2), trusted_in_province=False)
    sensitive = replace(order(1, [step(5)]), sensitive=True)
    other = order(2, [step(5)], arrival=NOW + H)
    outage = [change(0, 1, OFFLINE), change(10, 1, ACTIVE)]

    result = sim([trusted, untrusted], [sensitive, other], pool_changes=outage)

    assert starts(result) == [(1.0, 2, 2), (10.0, 1, 1)]  # never on the untrusted pool, though it was free
    assert result.orders[1].finished_at == NOW + 15 * H


def unit_workload(seed: int) -> list[OrderPlan]:
    """Single-step orders that each take a whole 10-PFLOPS pool, at random-ish arrivals and lengths."""
    rng = random.Random(seed)
    return [
        order(i, [step(rng.randrange(1, 30))], arrival=NOW + rng.randrange(0, 120) * H, gate_hours=rng.choice([0, 4]))
        for i in range(1, 41)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "more",
    [
        [change(24, -1, ACTIVE)],
        [change(10, 2, capacity=20)],
        [change(7.5, 1, capacity=30), change(60, -1, ACTIVE)],
    ],
    ids=["new pool", "pool grows", "both"],
)
def test_adding_capacity_never_makes_an_order_finish_later(seed, more):
    # First come, first served, with every job taking a whole pool: there adding capacity provably delays no one.
    # (Where jobs of several sizes and priorities go through several steps, more capacity can reorder the work so
    # that a few orders finish later, as in any greedy schedule; the engine does so without pool changes too.)
    pools = [pool(1), pool(2), pool(-1, state=OFFLINE)]
    orders = unit_workload(seed)

    base = sim(pools, orders, policy=FIFO_POLICY)
    result = sim(pools, orders, policy=FIFO_POLICY, pool_changes=more)

    for order_id, outcome in base.orders.items():
        assert result.orders[order_id].finished_at <= outcome.finished_at + 1e-6 * H
    assert sum((o.finished_at - result.orders[i].finished_at) / H for i, o in base.orders.items()) > 0


def test_a_change_to_an_unknown_pool_or_state_is_refused():
    with pytest.raises(ValueError, match="pool 7"):
        sim([pool(1)], [], pool_changes=[change(1, 7, OFFLINE)])
    with pytest.raises(ValueError, match="broken"):
        sim([pool(1)], [], pool_changes=[change(1, 1, "broken")])


def test_samples_and_progress_leave_the_run_as_it_is():
    orders = [order(i, [step(3, demand=30), step(2, demand=45)], arrival=NOW + i * H) for i in range(6)]
    pools = [pool(1, capacity=100), pool(2, capacity=60)]

    plain = simulate(pools=pools, orders=orders, now=NOW, seed=4)
    with_options = simulate(
        pools=pools, orders=orders, now=NOW, seed=4, pool_changes=(), sample_every=H, progress=lambda done: None
    )

    assert [o.finished_at for o in plain.orders.values()] == [o.finished_at for o in with_options.orders.values()]
    assert plain.start_log == with_options.start_log
    assert plain.available_pflops_hours == with_options.available_pflops_hours


# --- Usage samples ---------------------------------------------------------------------------------------------


def test_samples_are_taken_every_period_from_the_start_to_the_end_of_the_run():
    orders = [order(i, [step(5, demand=6), step(3, demand=4, kind="inference")], arrival=NOW + i * H) for i in range(8)]
    pools = [pool(1), pool(2, capacity=8), pool(3, kind="inference")]

    result = sim(pools, orders, background=lambda p, at: 1.0, sample_every=30 * timedelta(minutes=1))

    end_hours = (result.ended_at - NOW) / H
    assert [s.at for s in result.samples] == [NOW + k * 0.5 * H for k in range(int(end_hours / 0.5) + 1)]
    for sample in result.samples:
        assert set(sample.used) == set(sample.offered) == {"training", "inference"}
        for kind in sample.used:
            assert sample.used[kind] <= sample.offered[kind] + 1e-9
    assert max(s.used["training"] for s in result.samples) == 12.0  # two jobs of 6 PFLOPS side by side
    assert result.samples[0].offered == {"training": 16.0, "inference": 9.0}  # capacity less background


def test_samples_never_show_running_work_above_a_lowered_capacity():
    first, second = order(1, [step(10, demand=10)]), order(2, [step(10, demand=10)])

    result = sim([pool(1, capacity=20)], [first, second], pool_changes=[change(2, 1, capacity=10)], sample_every=H)

    assert [(s.used["training"], s.offered["training"]) for s in result.samples[1:4]] == [
        (20.0, 20.0),
        (10.0, 10.0),  # at 2 h: the capacity halved, one job stopped with its progress
        (10.0, 10.0),
    ]
    assert result.orders[1].finished_at == NOW + 10 * H
    assert result.orders[2].finished_at == NOW + 18 * H  # 2 h done before the cut, 8 h after the first ends
    assert result.samples[-1].used["training"] == 0.0


def test_samples_run_to_the_horizon_when_it_stops_the_run():
    result = sim([pool(1)], [order(1, [step(100)])], horizon=10 * H, sample_every=4 * H)

    assert [s.at for s in result.samples] == [NOW, NOW + 4 * H, NOW + 8 * H]


# --- Progress --------------------------------------------------------------------------------------------------


def test_progress_rises_to_one_in_about_a_hundred_calls_over_the_horizon():
    orders = [order(i, [step(2 + i % 5)], arrival=NOW + i * 3 * H) for i in range(400)]
    calls = []

    sim([pool(1), pool(2)], orders, horizon=60 * DAY, progress=calls.append)

    assert calls[-1] == 1.0
    assert all(a < b for a, b in itertools.pairwise(calls))
    assert 0 < calls[0] <= 0.02
    assert len(calls) <= 101


def test_progress_follows_the_awaited_orders_when_the_run_waits_for_some():
    orders = [order(i, [step(1)]) for i in range(1, 301)]
    calls = []

    result = sim([pool(1)], orders, until_done=set(range(1, 151)), progress=calls.append)

    assert result.orders[150].finished_at is not None
    assert result.orders[151].finished_at is None
    assert calls[-1] == 1.0
    assert all(a < b for a, b in itertools.pairwise(calls))
    assert 50 <= len(calls) <= 101  # a step at each hundredth of the 150 orders (two orders to a step at most)


# --- Scaled arrivals -------------------------------------------------------------------------------------------


def arrivals():
    before = order(1, [step(1)], arrival=NOW - DAY)
    inside = [order(10 + i, [step(1)], arrival=NOW + i * H) for i in range(10)]
    after = order(2, [step(1)], arrival=NOW + 2 * DAY)
    return [before, *inside, after]


@pytest.mark.parametrize(("factor", "inside"), [(0.0, 0), (0.5, 5), (1.0, 10), (2.5, 25)])
def test_scaled_arrivals_multiply_the_orders_of_the_period_only(factor, inside):
    plans = arrivals()

    scaled = scale_arrivals(plans, factor=factor, start=NOW, end=NOW + DAY, first_id=-100)

    in_period = [p for p in scaled if NOW <= p.arrival < NOW + DAY]
    assert len(in_period) == inside
    assert scaled[0] is plans[0]  # outside the period: as given
    assert scaled[-1] is plans[-1]
    ids = [p.order_id for p in scaled]
    assert len(set(ids)) == len(ids)
    copies = sorted((p.order_id for p in scaled if p.order_id < 0), reverse=True)
    assert copies == list(range(-100, -100 - max(0, inside - 10), -1))


def test_half_the_arrivals_keeps_every_other_one_and_two_and_a_half_makes_two_or_three_of_each():
    plans = arrivals()

    half = scale_arrivals(plans, factor=0.5, start=NOW, end=NOW + DAY, first_id=-1)
    more = scale_arrivals(plans, factor=2.5, start=NOW, end=NOW + DAY, first_id=-1)

    assert [p.order_id for p in half if p.order_id >= 10] == [10, 12, 14, 16, 18]
    per_original = [sum(1 for p in more if p.arrival == NOW + i * H) for i in range(10)]
    assert per_original == [3, 2] * 5
    copy = next(p for p in more if p.order_id == -1)
    assert (copy.arrival, copy.deadline, copy.stages) == (plans[1].arrival, plans[1].deadline, plans[1].stages)


def test_a_negative_arrival_factor_is_refused():
    with pytest.raises(ValueError, match="negative"):
        scale_arrivals(arrivals(), factor=-1, start=NOW, end=NOW + DAY, first_id=-1)


# --- Policy knobs ----------------------------------------------------------------------------------------------


def test_the_preemption_threshold_and_aging_step_are_knobs_of_the_policy():
    bulk = order(1, [step(10)], priority=LOW)
    urgent = order(2, [step(2)], priority=URGENT, arrival=NOW + H)

    later = sim([pool(1)], [bulk, urgent], policy=replace(DEFAULT_POLICY, preempt_after=2 * H, aging_step=4 * H))
    never = sim([pool(1)], [bulk, urgent], policy=replace(DEFAULT_POLICY, preempt_after=None, aging_step=None))

    assert later.preemption_log == [(NOW + 3 * H, 1, 2)]
    assert never.preemptions == 0
    assert never.orders[2].finished_at == NOW + 12 * H
