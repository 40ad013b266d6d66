"""The forward simulation used for ETAs and benchmarks. Pure Python, no database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.engine.planner import FIFO_POLICY, LOW, NORMAL, URGENT, Policy, PoolState
from dispatch.engine.plans import OrderPlan, StepSpec
from dispatch.engine.simulation import expected_arrivals, simulate, step_deadlines

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def pool(pool_id, *, capacity=10.0, kind="training", trusted=True, background=0.0):
    return PoolState(id=pool_id, kind=kind, capacity=capacity, background=background, trusted_in_province=trusted)


def order(order_id, *stages, priority=NORMAL, due=30 * 24 * H, gate_hours=0.0, arrival=NOW, client=None, **more):
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


def sim(pools, orders, **options):
    options.setdefault("background", False)
    return simulate(pools=pools, orders=orders, now=NOW, **options)


def test_a_single_order_on_an_empty_factory_finishes_after_its_steps_and_gates():
    pools = [pool(1, kind="data_processing"), pool(2, kind="training", capacity=50)]
    lone = order(
        1,
        [step(2, demand=5, kind="data_processing"), step(3, demand=2, kind="data_processing")],
        [step(5, demand=50)],
        gate_hours=4,
    )

    result = sim(pools, [lone])

    outcome = result.orders[1]
    assert outcome.finished_at == NOW + 18 * H  # 2 + 3 + gate 4 + 5 + gate 4
    assert [(s.entered_at, s.work_done_at, s.finished_at) for s in outcome.stages] == [
        (NOW, NOW + 5 * H, NOW + 9 * H),
        (NOW + 9 * H, NOW + 14 * H, NOW + 18 * H),
    ]
    assert outcome.steps == [[(NOW, NOW + 2 * H), (NOW + 2 * H, NOW + 5 * H)], [(NOW + 9 * H, NOW + 14 * H)]]
    assert outcome.lead_time == 18 * H
    assert outcome.on_time
    assert result.delivered == 1
    assert result.used_pflops_hours == pytest.approx(10 + 6 + 250)


def test_two_orders_competing_for_one_pool_the_urgent_one_finishes_first():
    normal = order(1, [step(3), step(3)], priority=NORMAL)
    urgent = order(2, [step(3), step(3)], priority=URGENT)

    result = sim([pool(1)], [normal, urgent])

    assert result.orders[2].finished_at == NOW + 6 * H
    assert result.orders[1].finished_at == NOW + 12 * H


def test_an_urgent_order_preempts_running_work_after_the_threshold_and_no_work_is_lost():
    bulk = order(1, [step(10)], priority=LOW)
    urgent = order(2, [step(2)], priority=URGENT, arrival=NOW + H)

    result = sim([pool(1)], [bulk, urgent])

    assert result.preemptions == 1
    assert result.preemption_log == [(NOW + 1.5 * H, 1, 2)]
    assert result.orders[2].finished_at == NOW + 3.5 * H  # waited the 30 minutes, then ran 2 h
    assert result.orders[1].finished_at == NOW + 12 * H  # 1.5 h done, 8.5 h after the urgent one
    assert result.orders[1].preempted == 1
    assert result.used_pflops_hours == pytest.approx(100 + 20)


def test_fifo_lets_the_urgent_order_wait_for_the_running_one():
    bulk = order(1, [step(10)], priority=LOW)
    urgent = order(2, [step(2)], priority=URGENT, arrival=NOW + H)

    result = sim([pool(1)], [bulk, urgent], policy=FIFO_POLICY)

    assert result.preemptions == 0
    assert result.orders[1].finished_at == NOW + 10 * H
    assert result.orders[2].finished_at == NOW + 12 * H


def test_fair_policy_delivers_more_orders_on_time_than_fifo_over_a_month_of_arrivals():
    orders = []
    for day in range(30):
        arrival = NOW + day * 24 * H
        # A bulk order every morning with a week of slack, and a short urgent one an hour later due the same day.
        orders.append(order(2 * day, [step(8), step(8)], priority=LOW, arrival=arrival, due=7 * 24 * H))
        orders.append(order(2 * day + 1, [step(4)], priority=URGENT, arrival=arrival + H, due=8 * H))

    fair = sim([pool(1)], orders)
    fifo = sim([pool(1)], orders, policy=FIFO_POLICY)

    assert fair.delivered == fifo.delivered == 60
    assert fair.on_time_rate == 1.0
    assert fifo.on_time_rate == 0.5
    assert fair.mean_lead_time <= fifo.mean_lead_time + H
    assert fair.utilization == pytest.approx(fifo.utilization)


def test_fair_share_runs_the_client_with_less_recent_usage_first():
    heavy = order(1, [step(2)], client=100)
    light = order(2, [step(2)], client=200)

    # Recent usage is per client and pool kind.
    result = sim([pool(1)], [heavy, light], client_usage={(100, "training"): 10_000.0, (200, "training"): 5.0})

    assert result.orders[2].finished_at == NOW + 2 * H
    assert result.orders[1].finished_at == NOW + 4 * H


def test_fair_share_counts_only_the_usage_of_the_jobs_pool_kind():
    heavy_elsewhere = order(1, [step(2)], client=100)
    light_elsewhere = order(2, [step(2)], client=200)

    usage = {(100, "inference"): 10_000.0, (200, "training"): 5.0}
    result = sim([pool(1)], [heavy_elsewhere, light_elsewhere], client_usage=usage)

    assert result.orders[1].finished_at == NOW + 2 * H
    assert result.orders[2].finished_at == NOW + 4 * H


def test_an_order_beyond_the_horizon_has_no_finish_time():
    long = order(1, [step(10)])

    result = sim([pool(1)], [long], horizon=5 * H)

    assert result.orders[1].finished_at is None
    assert result.orders[1].on_time is None
    assert result.delivered == 0
    assert result.ended_at == NOW + 5 * H
    assert result.used_pflops_hours == pytest.approx(50)


def test_a_running_job_continues_on_its_pool_from_its_progress():
    running = order(1, [step(5), step(1)], current_job_progress=20.0, running_pool_id=1, gate_hours=1)
    waiting = order(2, [step(1)], arrival=NOW - H)

    result = sim([pool(1)], [running, waiting])

    assert result.orders[1].steps[0][0] == (None, NOW + 3 * H)  # started before now, 30 of 50 PFLOPS·h left
    assert result.orders[2].finished_at == NOW + 4 * H  # it waited for the running job, then ran 1 h
    assert result.orders[1].finished_at == NOW + 6 * H  # 3 h + its next step after order 2's + gate 1 h


def test_an_order_in_gate_review_continues_when_the_review_ends():
    reviewing = order(1, [step(2)], [step(3)], current_step_index=1, gate_remaining_hours=1.5, gate_hours=4)

    result = sim([pool(1)], [reviewing])

    assert result.orders[1].stages[0].finished_at == NOW + 1.5 * H
    assert result.orders[1].stages[1].entered_at == NOW + 1.5 * H
    assert result.orders[1].finished_at == NOW + 8.5 * H


def test_an_order_whose_step_no_pool_can_run_never_finishes_and_the_simulation_ends():
    stuck = order(1, [step(1, kind="inference")])
    fine = order(2, [step(1)])

    result = sim([pool(1, kind="training")], [stuck, fine])

    assert result.orders[1].finished_at is None
    assert result.orders[2].finished_at == NOW + H
    assert result.ended_at == NOW + H


def test_a_job_waits_while_background_leaves_it_no_room():
    big = order(1, [step(1, demand=60)])
    busy_pool = pool(1, capacity=100)

    crowded = sim([busy_pool], [big], background=lambda p, at: 50.0, horizon=48 * H)
    quieter = sim([busy_pool], [big], background=lambda p, at: 50.0 if at < NOW + 5 * H else 30.0)

    assert crowded.orders[1].finished_at is None
    assert NOW + 5 * H <= quieter.orders[1].finished_at <= NOW + 7 * H


def test_seeded_background_makes_the_run_reproducible():
    orders = [order(i, [step(3, demand=30), step(2, demand=45)], arrival=NOW + i * H) for i in range(6)]
    pools = [pool(1, capacity=100), pool(2, capacity=60)]

    first = simulate(pools=pools, orders=orders, now=NOW, seed=4)
    again = simulate(pools=pools, orders=orders, now=NOW, seed=4)

    assert {i: o.finished_at for i, o in first.orders.items()} == {i: o.finished_at for i, o in again.orders.items()}
    assert 0 < first.utilization < 1


def test_utilization_is_our_work_over_the_room_the_pools_offered():
    one = order(1, [step(2)])

    alone = sim([pool(1)], [one])
    with_idle_pool = sim([pool(1), pool(2)], [one])

    assert alone.utilization == pytest.approx(1.0)
    assert with_idle_pool.utilization == pytest.approx(0.5)


def test_step_deadlines_leave_time_for_the_later_steps_and_gates():
    plan = order(1, [step(2), step(3)], [step(5)], gate_hours=4, due=100 * H)

    deadlines = step_deadlines(plan)

    assert deadlines == [[NOW + 84 * H, NOW + 87 * H], [NOW + 96 * H]]  # 100 - gate 4 - 5 - gate 4 = 87


def test_simulation_leaves_its_inputs_untouched():
    pools = [pool(1, background=1.0)]
    orders = [order(1, [step(2)], [step(1)])]
    pools_before, orders_before = [replace(p) for p in pools], [replace(o) for o in orders]

    simulate(pools=pools, orders=orders, now=NOW, policy=Policy())

    assert pools == pools_before
    assert orders == orders_before


# --- The demand a forecast expects ---------------------------------------------------------------------------


def test_the_arrivals_of_the_lookback_come_again_each_lookback_later_with_their_deadlines():
    day = 24 * H
    recent = [
        order(1, [step(2)], arrival=NOW - 30 * day, due=5 * day),  # before the lookback: not expected again
        order(2, [step(3)], arrival=NOW - 10 * day, due=6 * day, priority=URGENT),
        order(3, [step(4)], arrival=NOW - day, due=7 * day),
    ]

    expected = expected_arrivals(recent, now=NOW, first_id=-5, lookback=28 * day, replays=2)

    assert [(plan.order_id, plan.arrival - NOW, plan.deadline - plan.arrival) for plan in expected] == [
        (-5, 18 * day, 6 * day),
        (-6, 46 * day, 6 * day),
        (-7, 27 * day, 7 * day),
        (-8, 55 * day, 7 * day),
    ]
    assert [plan.priority for plan in expected] == [URGENT, URGENT, NORMAL, NORMAL]
    assert all(plan.current_stage_index == 0 and plan.current_job_progress == 0 for plan in expected)


def test_a_simulation_asked_for_some_orders_stops_once_they_are_delivered():
    short, long = order(1, [step(2)]), order(2, [step(50)], arrival=NOW + H)

    result = sim([pool(1, capacity=20)], [short, long], until_done={1})

    assert result.orders[1].finished_at == NOW + 2 * H
    assert result.orders[2].finished_at is None
    assert result.ended_at == NOW + 2 * H
