"""Snapshots of the forward simulation: the factory's state at an instant, to continue (fork) from there."""

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.engine.planner import FIFO_POLICY, HIGH, LOW, NORMAL, PoolState
from dispatch.engine.plans import OrderPlan, StepSpec
from dispatch.engine.simulation import simulate

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def pool(pool_id, *, capacity=10.0, kind="training"):
    return PoolState(id=pool_id, kind=kind, capacity=capacity, background=0.0, trusted_in_province=True)


def step(hours, demand=10.0, kind="training"):
    return StepSpec(kind=kind, demand=demand, work=demand * hours)


def order(order_id, *stages, arrival=NOW, priority=NORMAL, due=30 * 24 * H, gate_hours=0.0, client=None):
    return OrderPlan(
        order_id=order_id,
        client_id=order_id if client is None else client,
        priority=priority,
        deadline=arrival + due,
        sensitive=False,
        stages=[list(stage) for stage in stages],
        gate_hours=gate_hours,
        arrival=arrival,
    )


def test_a_snapshot_shows_each_order_in_the_factory_where_it_stands():
    pools = [pool(1), pool(2, kind="inference")]
    orders = [
        order(1, [step(4), step(2)], gate_hours=3),  # runs its first step from NOW to NOW + 4 h
        order(2, [step(2)], arrival=NOW + 0.5 * H),  # waits for pool 1
        order(3, [step(1, kind="inference")], [step(1, kind="inference")], gate_hours=5),  # in its first gate
        order(4, [step(0.5, kind="inference")], arrival=NOW + 1.5 * H),  # done by NOW + 2 h
        order(5, [step(1)], arrival=NOW + 10 * H),  # not arrived yet
    ]

    result = simulate(pools=pools, orders=orders, now=NOW, background=False, snapshot_at=[NOW + 2.5 * H])

    (snapshot,) = result.snapshots
    assert snapshot.at == NOW + 2.5 * H
    by_id = {plan.order_id: plan for plan in snapshot.orders}
    assert set(by_id) == {1, 2, 3}
    running = by_id[1]
    assert (running.current_stage_index, running.current_step_index) == (0, 0)
    assert running.current_job_progress == pytest.approx(25.0)  # 2.5 h at 10 PFLOPS
    assert running.running_pool_id == 1
    waiting = by_id[2]
    assert waiting.running_pool_id is None
    assert waiting.current_job_progress == 0.0
    assert waiting.queued_at == NOW + 0.5 * H
    reviewing = by_id[3]
    assert (reviewing.current_stage_index, reviewing.current_step_index) == (0, 1)
    assert reviewing.gate_remaining_hours == pytest.approx(3.5)  # gate from NOW + 1 h to NOW + 6 h


def test_continuing_a_snapshot_without_new_arrivals_predicts_what_the_full_run_did():
    pools = [pool(1, capacity=20), pool(2, capacity=10, kind="inference")]
    orders = [
        order(
            n,
            [step(1 + n % 3, demand=10), step(0.5 + n % 2, demand=5, kind="inference")],
            [step(2 + n % 4, demand=10 + 5 * (n % 2))],
            arrival=NOW + n * 1.7 * H,
            priority=(LOW, NORMAL, HIGH)[n % 3],
            due=(20 + 3 * n) * H,
            gate_hours=2.5,
            client=n % 4,
        )
        for n in range(12)
    ]
    last_arrival = orders[-1].arrival
    full = simulate(pools=pools, orders=orders, now=NOW, background=False, snapshot_at=[last_arrival + 0.3 * H])

    snapshot = full.snapshots[0]
    assert len(snapshot.orders) >= 3
    fork = simulate(
        pools=pools, orders=snapshot.orders, now=snapshot.at, background=False, client_usage=snapshot.client_usage
    )

    assert {i: o.finished_at for i, o in fork.orders.items()} == {
        plan.order_id: full.orders[plan.order_id].finished_at for plan in snapshot.orders
    }


def test_a_preempted_job_keeps_its_progress_in_the_snapshot():
    orders = [order(1, [step(10)], priority=LOW), order(2, [step(2)], priority=HIGH, arrival=NOW + H)]

    result = simulate(pools=[pool(1)], orders=orders, now=NOW, background=False, snapshot_at=[NOW + 2 * H])

    assert result.preemptions == 1  # at NOW + 1.5 h
    by_id = {plan.order_id: plan for plan in result.snapshots[0].orders}
    assert by_id[1].running_pool_id is None
    assert by_id[1].current_job_progress == pytest.approx(15.0)
    assert by_id[1].queued_at == NOW + 1.5 * H
    assert by_id[2].running_pool_id == 1
    assert by_id[2].current_job_progress == pytest.approx(5.0)


def test_snapshots_come_in_time_order_and_stop_at_the_horizon():
    orders = [order(1, [step(3)], [step(3)], gate_hours=1)]

    result = simulate(
        pools=[pool(1)],
        orders=orders,
        now=NOW,
        background=False,
        policy=FIFO_POLICY,
        horizon=20 * H,
        snapshot_at=[NOW + 30 * H, NOW + 9 * H, NOW + 1 * H, NOW + 3.5 * H],
    )

    assert [s.at for s in result.snapshots] == [NOW + 1 * H, NOW + 3.5 * H, NOW + 9 * H]
    assert [len(s.orders) for s in result.snapshots] == [1, 1, 0]  # delivered at NOW + 8 h, idle until the horizon
    assert result.snapshots[1].orders[0].gate_remaining_hours == pytest.approx(0.5)


def test_taking_snapshots_changes_nothing_in_the_run():
    orders = [order(n, [step(1 + n % 3)], arrival=NOW + n * H, priority=(LOW, HIGH)[n % 2]) for n in range(8)]

    plain = simulate(pools=[pool(1)], orders=orders, now=NOW, seed=3)
    observed = simulate(pools=[pool(1)], orders=orders, now=NOW, seed=3, snapshot_at=[NOW + n * H for n in range(12)])

    assert {i: o.finished_at for i, o in plain.orders.items()} == {i: o.finished_at for i, o in observed.orders.items()}
    assert len(observed.snapshots) == 12
