"""The placement core: who starts where, who waits and why. Pure Python, no database."""

import itertools
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.engine.planner import (
    DEFAULT_POLICY,
    DRAINING,
    EDF_BACKFILL_POLICY,
    FIFO_POLICY,
    HIGH,
    HIGHER_PRIORITY_AHEAD,
    LOW,
    MULTIFACTOR_POLICY,
    NO_POOL_OF_KIND,
    NO_ROOM,
    NORMAL,
    OFFLINE,
    POOLS_UNAVAILABLE,
    PREEMPTED,
    REASONS,
    RESERVED,
    RESIDENCY,
    TOO_LARGE,
    TRUSTED_POOLS_FULL,
    URGENT,
    JobState,
    Policy,
    PoolState,
    _fair_key,
    plan,
)
from dispatch.engine.policy import AGING_BOUND, AGING_STEP, AT_RISK_SLACK, GRID_EPOCH, queue_rank

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def pool(pool_id, *, capacity=100.0, background=0.0, kind="training", trusted=True, state="active"):
    return PoolState(
        id=pool_id, kind=kind, capacity=capacity, background=background, trusted_in_province=trusted, state=state
    )


def job(
    *,
    demand=10.0,
    hours=2.0,
    priority=NORMAL,
    kind="training",
    due_in=timedelta(days=10),
    queued_ago=timedelta(0),
    sensitive=False,
    client=1,
    usage=0.0,
    pool_id=None,
    started_ago=None,
):
    job_id = next(_ids)
    return JobState(
        id=job_id,
        order_id=job_id,
        client_id=client,
        kind=kind,
        demand=demand,
        work_remaining=demand * hours,
        priority=priority,
        deadline=NOW + due_in,
        queued_at=NOW - queued_ago,
        sensitive=sensitive,
        pool_id=pool_id,
        client_recent_usage=usage,
        started_at=None if started_ago is None else NOW - started_ago,
    )


def run(pools, queued, running=(), policy=DEFAULT_POLICY):
    return plan(pools=pools, queued=list(queued), running=list(running), now=NOW, policy=policy)


# --- ordering -----------------------------------------------------------------------------------------


def test_higher_priority_starts_before_a_job_that_queued_earlier():
    early_normal = job(priority=NORMAL, queued_ago=timedelta(hours=5))
    late_high = job(priority=HIGH, hours=3)

    result = run([pool(1, capacity=10)], [early_normal, late_high])

    assert result.placements == [(late_high.id, 1)]
    assert result.waiting[early_normal.id].reason == NO_ROOM
    assert result.waiting[early_normal.id].expected_start == NOW + timedelta(hours=3)


def test_a_job_behind_a_waiting_higher_priority_job_says_so():
    busy = job(demand=10, hours=3, pool_id=1)
    early_normal = job(priority=NORMAL, queued_ago=timedelta(hours=5))
    late_high = job(priority=HIGH)

    result = run([pool(1, capacity=10)], [early_normal, late_high], [busy])

    assert result.waiting[late_high.id].reason == NO_ROOM
    assert result.waiting[early_normal.id].reason == HIGHER_PRIORITY_AHEAD
    assert result.waiting[early_normal.id].blocked_by == late_high.id
    assert result.waiting[early_normal.id].expected_start == NOW + timedelta(hours=5)


def test_within_a_priority_the_job_with_least_slack_goes_first():
    relaxed = job(due_in=timedelta(days=9), queued_ago=timedelta(hours=3))
    pressed = job(due_in=timedelta(hours=6))

    result = run([pool(1, capacity=10)], [relaxed, pressed])

    assert result.placements == [(pressed.id, 1)]
    assert result.waiting[relaxed.id].reason == NO_ROOM


def test_slack_counts_the_jobs_own_duration():
    # Same deadline; the longer job has less slack, so it starts first.
    short = job(hours=1, due_in=timedelta(hours=30), queued_ago=timedelta(hours=1))
    long = job(hours=20, due_in=timedelta(hours=30))

    result = run([pool(1, capacity=10)], [short, long])

    assert result.placements == [(long.id, 1)]


def test_fair_share_picks_the_client_with_less_recent_usage_on_ties():
    heavy_user = job(client=1, usage=5000, queued_ago=timedelta(hours=2))
    light_user = job(client=2, usage=10)

    result = run([pool(1, capacity=10)], [heavy_user, light_user])

    assert result.placements == [(light_user.id, 1)]


def test_slack_differences_within_the_granularity_leave_the_choice_to_fair_share():
    heavy_user = job(client=1, usage=5000, due_in=timedelta(hours=40, minutes=10))
    light_user = job(client=2, usage=10, due_in=timedelta(hours=40, minutes=50))

    result = run([pool(1, capacity=10)], [heavy_user, light_user])

    assert result.placements == [(light_user.id, 1)]


def test_queue_time_breaks_the_remaining_ties():
    later = job(queued_ago=timedelta(minutes=5))
    earlier = job(queued_ago=timedelta(minutes=50))

    result = run([pool(1, capacity=10)], [later, earlier])

    assert result.placements == [(earlier.id, 1)]


# --- compatibility and residency ------------------------------------------------------------------------


def test_a_job_only_runs_on_a_pool_of_its_kind():
    training = job(kind="training")

    result = run([pool(1, kind="inference")], [training])

    assert result.placements == []
    assert result.waiting[training.id].reason == NO_POOL_OF_KIND
    assert result.waiting[training.id].expected_start is None


def test_best_fit_picks_the_pool_with_the_least_room_that_still_fits():
    roomy, snug, too_small = pool(1, capacity=100), pool(2, capacity=12), pool(3, capacity=8)
    small = job(demand=10)

    result = run([roomy, snug, too_small], [small])

    assert result.placements == [(small.id, 2)]


def test_a_job_that_is_not_sensitive_leaves_trusted_pools_to_sensitive_work():
    trusted, untrusted = pool(1, capacity=20, trusted=True), pool(2, capacity=80, trusted=False)
    ordinary = job(demand=10)

    result = run([trusted, untrusted], [ordinary])

    assert result.placements == [(ordinary.id, 2)]


def test_a_sensitive_job_lands_on_a_trusted_in_province_pool_even_when_others_have_more_room():
    untrusted, trusted = pool(1, capacity=100, trusted=False), pool(2, capacity=50, trusted=True)
    medical = job(sensitive=True)

    result = run([untrusted, trusted], [medical])

    assert result.placements == [(medical.id, 2)]


def test_a_sensitive_job_waits_for_residency_when_only_untrusted_pools_exist():
    medical = job(sensitive=True)

    result = run([pool(1, trusted=False), pool(2, trusted=False)], [medical])

    assert result.placements == []
    assert result.waiting[medical.id].reason == RESIDENCY
    assert medical.pool_id is None


def test_a_sensitive_job_says_so_when_only_the_trusted_pools_are_full():
    trusted = pool(1, capacity=10, trusted=True)
    untrusted = pool(2, capacity=100, trusted=False)
    occupant = job(demand=10, hours=3, pool_id=1)
    medical = job(sensitive=True, demand=10)

    result = run([trusted, untrusted], [medical], [occupant])

    assert result.placements == []
    waiting = result.waiting[medical.id]
    assert waiting.reason == TRUSTED_POOLS_FULL
    assert waiting.expected_start == NOW + timedelta(hours=3)


@pytest.mark.parametrize("state", [DRAINING, OFFLINE])
def test_a_draining_or_offline_pool_takes_no_new_job_and_keeps_its_running_one(state):
    closing = pool(1, capacity=100, state=state)
    running = job(demand=10, hours=5, pool_id=1)
    waiting = job(demand=10)

    result = run([closing], [waiting], [running])

    assert result.placements == []
    assert result.preemptions == []
    assert result.waiting[waiting.id].reason == POOLS_UNAVAILABLE
    assert running.pool_id == 1
    assert closing.used == 10


def test_a_draining_pool_is_skipped_for_an_active_one():
    draining, active = pool(1, capacity=100, state=DRAINING), pool(2, capacity=20)
    queued = job(demand=10)

    result = run([draining, active], [queued])

    assert result.placements == [(queued.id, 2)]


def test_a_job_larger_than_every_pool_waits_as_too_large():
    giant = job(demand=500)

    result = run([pool(1, capacity=100), pool(2, capacity=200)], [giant])

    assert result.waiting[giant.id].reason == TOO_LARGE
    assert result.waiting[giant.id].expected_start is None


# --- capacity ---------------------------------------------------------------------------------------------


def test_background_load_leaves_less_room_for_our_jobs():
    busy = pool(1, capacity=100, background=45)
    fits, does_not_fit = job(demand=50), job(demand=10)

    result = run([busy], [fits, does_not_fit])

    assert result.placements == [(fits.id, 1)]
    assert busy.used + busy.background <= busy.capacity


def test_a_pool_overloaded_by_background_takes_nothing_new_and_evicts_nothing():
    overloaded = pool(1, capacity=100, background=40)
    overloaded.used = 70
    tenant = job(demand=70, hours=4, pool_id=1)
    tiny = job(demand=0.5)

    result = run([overloaded], [tiny], [tenant])

    assert result.placements == []
    assert result.preemptions == []
    assert tenant.pool_id == 1
    assert result.waiting[tiny.id].reason == NO_ROOM
    assert overloaded.used == 70


def test_plan_updates_each_pools_used_capacity():
    target = pool(1, capacity=100)
    running = job(demand=30, hours=4, pool_id=1)
    queued = job(demand=20)

    run([target], [queued], [running])

    assert target.used == 50
    assert queued.pool_id == 1


def _random_case(rng):
    kinds = ["data_processing", "training", "inference"]
    pools = []
    for pool_id in range(1, rng.randint(1, 8) + 1):
        capacity = rng.choice([10, 20, 50, 100])
        pools.append(
            pool(
                pool_id,
                capacity=capacity,
                background=capacity * rng.uniform(0, 0.6),
                kind=rng.choice(kinds),
                trusted=rng.random() < 0.5,
                state=rng.choice(["active", "active", "active", DRAINING, OFFLINE]),
            )
        )
    running = []
    for p in pools:
        room = p.capacity * rng.uniform(0.3, 1.0)  # background may already exceed what is left
        while True:
            demand = rng.choice([1, 2, 5, 10, 20])
            if p.used + demand > room:
                break
            p.used += demand
            running.append(
                job(
                    demand=demand,
                    hours=rng.uniform(0.1, 10),
                    kind=p.kind,
                    priority=rng.randrange(4),
                    pool_id=p.id,
                    started_ago=timedelta(minutes=rng.randrange(600)),
                )
            )
    queued = [
        job(
            demand=rng.choice([0.5, 1, 2, 5, 10, 20, 40, 150]),
            hours=rng.uniform(0.1, 24),
            kind=rng.choice(kinds),
            priority=rng.randrange(4),
            due_in=timedelta(hours=rng.uniform(-10, 200)),
            queued_ago=timedelta(minutes=rng.randrange(180)),
            sensitive=rng.random() < 0.3,
            client=rng.randrange(5),
            usage=rng.uniform(0, 100),
        )
        for _ in range(rng.randint(0, 40))
    ]
    return pools, queued, running


@pytest.mark.parametrize("policy", [Policy(), Policy(backfill=False), FIFO_POLICY], ids=["fair", "no-backfill", "fifo"])
def test_random_plans_never_exceed_capacity_nor_break_residency(policy):
    rng = random.Random(20250602)
    for _ in range(300):
        pools, queued, running = _random_case(rng)
        used_before = {p.id: p.used for p in pools}
        by_id = {p.id: p for p in pools}
        result = run(pools, queued, running, policy)

        queued_ids = {j.id for j in queued}
        placed = dict(result.placements)
        assert len(placed) == len(result.placements), "a job is placed at most once"
        assert set(placed) | set(result.waiting) >= queued_ids, "every queued job is placed or waits"
        assert not set(placed) & set(result.waiting), "a placed job does not also wait"
        jobs = {j.id: j for j in [*queued, *running]}
        for job_id, pool_id in result.placements:
            target, placed_job = by_id[pool_id], jobs[job_id]
            assert target.state == "active"
            assert target.kind == placed_job.kind
            assert target.trusted_in_province or not placed_job.sensitive
            assert placed_job.pool_id == pool_id
        for p in pools:
            if p.id in placed.values():
                assert p.used + p.background <= p.capacity + 1e-9
            else:
                assert p.used <= used_before[p.id] + 1e-9
            still_running = sum(j.demand for j in running if j.pool_id == p.id)
            newly_placed = sum(jobs[j].demand for j, pid in result.placements if pid == p.id and j in queued_ids)
            assert p.used == pytest.approx(still_running + newly_placed)
        for victim_id, preemptor_id in result.preemptions:
            assert policy.fair
            assert jobs[victim_id].priority < jobs[preemptor_id].priority
            assert jobs[preemptor_id].priority >= HIGH
            assert jobs[victim_id].pool_id is None
            assert result.waiting[victim_id].reason == PREEMPTED
        for waiting in result.waiting.values():
            assert waiting.reason in REASONS
            assert waiting.expected_start is None or waiting.expected_start >= NOW


# --- preemption --------------------------------------------------------------------------------------------


def test_an_urgent_job_waiting_past_the_threshold_preempts_lower_priority_work():
    full = pool(1, capacity=10)
    low = job(demand=10, hours=8, priority=LOW, pool_id=1)
    urgent = job(demand=10, priority=URGENT, queued_ago=timedelta(minutes=31))

    result = run([full], [urgent], [low])

    assert result.preemptions == [(low.id, urgent.id)]
    assert result.placements == [(urgent.id, 1)]
    assert low.pool_id is None
    assert low.work_remaining == 80, "the victim keeps its progress"
    assert result.waiting[low.id].reason == PREEMPTED
    assert result.waiting[low.id].blocked_by == urgent.id
    assert full.used == 10


def test_no_preemption_before_the_threshold():
    low = job(demand=10, priority=LOW, pool_id=1)
    urgent = job(demand=10, priority=URGENT, queued_ago=timedelta(minutes=10))

    result = run([pool(1, capacity=10)], [urgent], [low])

    assert result.preemptions == []
    assert low.pool_id == 1
    assert result.waiting[urgent.id].reason == NO_ROOM


def test_a_normal_job_never_preempts_however_long_it_waits():
    low = job(demand=10, priority=LOW, pool_id=1)
    normal = job(demand=10, priority=NORMAL, queued_ago=timedelta(days=3))

    result = run([pool(1, capacity=10)], [normal], [low])

    assert result.preemptions == []


@pytest.mark.parametrize(("waiting_priority", "running_priority"), [(HIGH, HIGH), (URGENT, URGENT), (HIGH, URGENT)])
def test_preemption_only_evicts_strictly_lower_priority_work(waiting_priority, running_priority):
    running = job(demand=10, priority=running_priority, pool_id=1)
    waiting = job(demand=10, priority=waiting_priority, queued_ago=timedelta(hours=5))

    result = run([pool(1, capacity=10)], [waiting], [running])

    assert result.preemptions == []
    assert running.pool_id == 1


def test_preemption_takes_the_lowest_priority_and_most_recently_started_just_enough():
    shared = pool(1, capacity=30)
    old_low = job(demand=10, priority=LOW, pool_id=1, started_ago=timedelta(hours=5))
    new_low = job(demand=10, priority=LOW, pool_id=1, started_ago=timedelta(hours=1))
    normal = job(demand=10, priority=NORMAL, pool_id=1, started_ago=timedelta(minutes=5))
    urgent = job(demand=10, priority=URGENT, queued_ago=timedelta(hours=1))

    result = run([shared], [urgent], [old_low, new_low, normal])

    assert result.preemptions == [(new_low.id, urgent.id)]
    assert old_low.pool_id == normal.pool_id == 1


def test_preemption_gives_back_victims_it_did_not_need():
    shared = pool(1, capacity=30)
    small_low = job(demand=5, priority=LOW, pool_id=1, started_ago=timedelta(minutes=10))
    big_low = job(demand=15, priority=LOW, pool_id=1, started_ago=timedelta(hours=2))
    normal = job(demand=10, priority=NORMAL, pool_id=1)
    high = job(demand=15, priority=HIGH, queued_ago=timedelta(hours=1))

    result = run([shared], [high], [small_low, big_low, normal])

    assert result.preemptions == [(big_low.id, high.id)]
    assert small_low.pool_id == 1


def test_preemption_picks_the_pool_where_it_evicts_the_least_compute():
    a, b = pool(1, capacity=20), pool(2, capacity=20)
    on_a = [job(demand=5, priority=LOW, pool_id=1), job(demand=10, priority=LOW, pool_id=1)]
    on_b = [job(demand=20, priority=LOW, pool_id=2)]
    urgent = job(demand=15, priority=URGENT, queued_ago=timedelta(hours=1))

    result = run([a, b], [urgent], [*on_a, *on_b])

    assert result.preemptions == [(on_a[1].id, urgent.id)]
    assert result.placements == [(urgent.id, 1)]


def test_preemption_prefers_evicting_low_over_normal_priority_work():
    a, b = pool(1, capacity=20), pool(2, capacity=20)
    normal = job(demand=10, priority=NORMAL, pool_id=1)
    low = job(demand=20, priority=LOW, pool_id=2)
    urgent = job(demand=15, priority=URGENT, queued_ago=timedelta(hours=1))

    result = run([a, b], [urgent], [normal, low])

    assert result.preemptions == [(low.id, urgent.id)]


def test_fifo_never_preempts_and_keeps_queue_order():
    low = job(demand=10, priority=LOW, pool_id=1)
    first = job(demand=10, priority=LOW, queued_ago=timedelta(hours=2))
    urgent = job(demand=10, priority=URGENT, queued_ago=timedelta(hours=1))
    free_pool = pool(2, capacity=10)

    result = run([pool(1, capacity=10), free_pool], [urgent, first], [low], FIFO_POLICY)

    assert result.preemptions == []
    assert result.placements == [(first.id, 2)]
    assert result.waiting[urgent.id].reason == NO_ROOM


def test_fifo_lets_nothing_overtake_the_head_of_the_queue():
    head = job(demand=30, queued_ago=timedelta(hours=2))
    small = job(demand=5, hours=0.5, queued_ago=timedelta(hours=1))
    running = job(demand=80, hours=3, pool_id=1)

    result = run([pool(1, capacity=100)], [small, head], [running], FIFO_POLICY)

    assert result.placements == []
    assert result.waiting[head.id].reason == NO_ROOM
    assert result.waiting[small.id].reason == RESERVED
    assert result.waiting[small.id].blocked_by == head.id


# --- backfill ---------------------------------------------------------------------------------------------


def _backfill_case():
    """Pool of 100: 60 busy for 4 more hours; the head needs 80, so it is reserved in 4 hours."""
    target = pool(1, capacity=100)
    running = job(demand=60, hours=4, pool_id=1)
    head = job(demand=80, hours=5, priority=HIGH)
    return target, running, head


def test_backfill_lets_a_small_job_start_now_when_it_ends_before_the_heads_reservation():
    target, running, head = _backfill_case()
    quick = job(demand=30, hours=2)

    result = run([target], [head, quick], [running])

    assert result.placements == [(quick.id, 1)]
    assert result.reservations[head.id] == (1, NOW + timedelta(hours=4))
    assert result.waiting[head.id].expected_start == NOW + timedelta(hours=4)
    assert result.backfilled == {quick.id}


def test_backfill_refuses_a_job_that_would_delay_the_heads_reservation():
    target, running, head = _backfill_case()
    slow = job(demand=30, hours=6)

    result = run([target], [head, slow], [running])

    assert result.placements == []
    assert result.waiting[slow.id].reason == HIGHER_PRIORITY_AHEAD
    assert result.waiting[slow.id].blocked_by == head.id
    assert result.waiting[slow.id].expected_start >= NOW + timedelta(hours=4)


def test_a_job_blocked_by_a_reservation_of_equal_priority_is_reserved():
    target, running, head = _backfill_case()
    head.priority = NORMAL
    slow = job(demand=30, hours=6, due_in=timedelta(days=20))

    result = run([target], [head, slow], [running])

    assert result.waiting[slow.id].reason == RESERVED


def test_backfill_admits_a_long_job_when_enough_room_remains_at_the_reservation():
    target, running, head = _backfill_case()
    head.demand, head.work_remaining = 60, 300  # at the reservation 40 stay free
    long_small = job(demand=30, hours=20)
    long_large = job(demand=40, hours=20)

    result = run([target], [head, long_small, long_large], [running])

    assert result.placements == [(long_small.id, 1)]
    assert result.waiting[long_large.id].reason == HIGHER_PRIORITY_AHEAD


def test_backfill_uses_another_pool_freely():
    target, running, head = _backfill_case()
    other = pool(2, capacity=40)
    slow = job(demand=30, hours=6)

    result = run([target, other], [head, slow], [running])

    assert result.placements == [(slow.id, 2)]


def test_without_backfill_nothing_overtakes_the_head_of_its_queue():
    target, running, head = _backfill_case()
    quick = job(demand=30, hours=2)

    result = run([target], [head, quick], [running], Policy(backfill=False))

    assert result.placements == []
    assert result.waiting[quick.id].reason == HIGHER_PRIORITY_AHEAD


def test_a_sensitive_heads_reservation_also_holds_back_other_jobs_of_its_kind():
    trusted = pool(1, capacity=100, trusted=True)
    running = job(demand=60, hours=4, pool_id=1)
    medical = job(demand=80, hours=5, sensitive=True, priority=HIGH)
    ordinary = job(demand=30, hours=6)

    result = run([trusted], [medical, ordinary], [running])

    assert result.placements == []
    assert result.waiting[ordinary.id].blocked_by == medical.id


# --- reasons and expected starts -----------------------------------------------------------------------


def test_every_waiting_job_has_a_reason_and_an_expected_start():
    target = pool(1, capacity=20)
    running = [job(demand=10, hours=1, pool_id=1), job(demand=10, hours=3, pool_id=1)]
    queued = [job(demand=10, hours=2, due_in=timedelta(hours=h)) for h in (10, 20, 30, 40)]

    result = run([target], queued, running)

    assert result.placements == []
    assert set(result.waiting) == {j.id for j in queued}
    for waiting in result.waiting.values():
        assert waiting.reason in REASONS
        assert waiting.expected_start is not None
    starts = [result.waiting[j.id].expected_start for j in queued]
    assert starts == sorted(starts), "in queue order"
    assert starts[0] == NOW + timedelta(hours=1)


def test_expected_starts_follow_the_releases_of_running_jobs():
    running = job(demand=10, hours=3, pool_id=1)
    first = job(demand=10, hours=2, due_in=timedelta(hours=10))
    second = job(demand=10, hours=2, due_in=timedelta(hours=50))

    result = run([pool(1, capacity=10)], [first, second], [running])

    assert result.waiting[first.id].expected_start == NOW + timedelta(hours=3)
    assert result.waiting[second.id].expected_start == NOW + timedelta(hours=5)


def test_a_preempted_job_gets_an_expected_start_after_its_preemptor():
    low = job(demand=10, hours=8, priority=LOW, pool_id=1)
    urgent = job(demand=10, hours=2, priority=URGENT, queued_ago=timedelta(hours=1))

    result = run([pool(1, capacity=10)], [urgent], [low])

    assert result.waiting[low.id].expected_start == NOW + timedelta(hours=2)


def test_planning_five_thousand_jobs_on_fifty_pools_takes_well_under_a_second():
    rng = random.Random(7)
    kinds = ["data_processing", "training", "inference"]
    pools = [
        pool(i, capacity=rng.choice([20, 40, 80]), kind=kinds[i % 3], trusted=i % 3 == 0, background=5)
        for i in range(50)
    ]
    running = []
    for p in pools:
        for _ in range(20):
            if p.used + 1 <= p.capacity - p.background:
                p.used += 1
                running.append(job(demand=1, hours=rng.uniform(0.5, 20), kind=p.kind, pool_id=p.id))
    queued = [
        job(
            demand=rng.choice([1, 2, 4, 8, 16]),
            hours=rng.uniform(0.5, 20),
            kind=rng.choice(kinds),
            priority=rng.randrange(4),
            queued_ago=timedelta(minutes=rng.randrange(120)),
            sensitive=rng.random() < 0.2,
            due_in=timedelta(hours=rng.uniform(0, 300)),
        )
        for _ in range(5000)
    ]

    started = time.perf_counter()
    result = run(pools, queued, running)
    elapsed = time.perf_counter() - started

    assert len(result.placements) + len(result.waiting) >= 5000
    assert elapsed < 1.0  # typically ~0.03 s; this guards against quadratic behaviour


# --- Aging and the baselines ----------------------------------------------------------------------------------


def test_a_low_priority_job_that_waited_two_aging_steps_goes_before_new_normal_work():
    waited = job(priority=LOW, queued_ago=AGING_STEP * 2 + timedelta(minutes=1), due_in=timedelta(days=30))
    fresh = job(priority=NORMAL, due_in=timedelta(days=20))

    result = run([pool(1, capacity=10)], [fresh, waited])

    assert result.placements == [(waited.id, 1)]


def test_a_job_that_waited_the_aging_bound_goes_before_newer_urgent_work_but_preempts_nobody():
    starving = job(priority=LOW, queued_ago=AGING_BOUND, due_in=timedelta(days=5), demand=10)
    urgent = job(priority=URGENT, due_in=timedelta(days=1), demand=10)
    almost = job(priority=LOW, queued_ago=AGING_BOUND - timedelta(minutes=1), due_in=timedelta(days=1), demand=10)

    result = run([pool(1, capacity=10)], [urgent, almost, starving])

    assert result.placements == [(starving.id, 1)]
    assert result.preemptions == []


def test_work_that_waited_the_aging_bound_goes_oldest_first_whatever_its_slack():
    older = job(priority=LOW, queued_ago=AGING_BOUND + timedelta(hours=5), due_in=timedelta(days=20), demand=10)
    newer = job(priority=LOW, queued_ago=AGING_BOUND, due_in=timedelta(hours=30), demand=10)

    result = run([pool(1, capacity=10)], [newer, older])

    assert result.placements == [(older.id, 1)]


def test_normal_work_is_ranked_by_its_date_not_aged_by_its_wait():
    # Aging normal work too made the queue first come, first served whenever the factory fell behind.
    waited_long = job(priority=NORMAL, queued_ago=AGING_BOUND * 2, due_in=timedelta(days=20), demand=10)
    high = job(priority=HIGH, due_in=timedelta(days=20), demand=10)

    result = run([pool(1, capacity=10)], [waited_long, high])

    assert result.placements == [(high.id, 1)]


def test_work_past_saving_does_not_make_work_that_can_still_keep_its_date_late():
    def late():
        return job(priority=NORMAL, due_in=timedelta(hours=1), demand=10)  # 2 h of work: past its latest start

    at_risk = job(priority=NORMAL, due_in=timedelta(hours=20), demand=10)
    with_time_to_spare = job(priority=NORMAL, due_in=timedelta(days=10), demand=10)
    first, second = late(), late()

    yields = run([pool(1, capacity=10)], [first, at_risk])
    among_its_rank = run([pool(1, capacity=10)], [with_time_to_spare, second])

    assert yields.placements == [(at_risk.id, 1)]
    assert among_its_rank.placements == [(second.id, 1)]  # least slack first among normal work


def test_normal_work_at_risk_goes_before_high_priority_work_with_time_to_spare():
    relaxed_high = job(priority=HIGH, due_in=timedelta(days=20), demand=10)
    at_risk = job(priority=NORMAL, due_in=AT_RISK_SLACK, demand=10)  # less than AT_RISK_SLACK after its 2 h

    result = run([pool(1, capacity=10)], [relaxed_high, at_risk])

    assert result.placements == [(at_risk.id, 1)]


def test_among_work_at_risk_urgent_still_comes_first_and_high_priority_wins_with_time_to_spare():
    urgent = job(priority=URGENT, due_in=timedelta(days=2), demand=10)
    at_risk = job(priority=NORMAL, due_in=timedelta(hours=20), demand=10)
    spare_normal = job(priority=NORMAL, due_in=timedelta(days=10), demand=10)
    spare_high = job(priority=HIGH, due_in=timedelta(days=20), demand=10)

    urgent_first = run([pool(1, capacity=10)], [at_risk, urgent])
    high_first = run([pool(1, capacity=10)], [spare_normal, spare_high])

    assert urgent_first.placements == [(urgent.id, 1)]
    assert high_first.placements == [(spare_high.id, 1)]


def test_a_job_placed_in_this_round_is_never_preempted_in_the_same_round():
    waited = job(priority=LOW, queued_ago=AGING_STEP * 3, demand=10)
    high = job(priority=HIGH, queued_ago=timedelta(hours=1), demand=10)

    result = run([pool(1, capacity=10)], [waited, high])

    assert result.placements == [(waited.id, 1)]
    assert result.preemptions == []


def test_edf_starts_the_earliest_deadline_whatever_its_priority():
    late = job(priority=URGENT, due_in=timedelta(days=9))
    soon = job(priority=LOW, due_in=timedelta(days=1))

    result = run([pool(1, capacity=10)], [late, soon], policy=EDF_BACKFILL_POLICY)

    assert result.placements == [(soon.id, 1)]


def test_multifactor_weighs_age_priority_and_fair_share():
    heavy_high = job(priority=HIGH, client=1, usage=9000)
    light_normal = job(priority=NORMAL, client=2, usage=10)

    result = run([pool(1, capacity=10)], [heavy_high, light_normal], policy=MULTIFACTOR_POLICY)

    # Fair share (2,000 * ~1 against 2,000 * ~0) outweighs one priority step (2,000 / 3).
    assert result.placements == [(light_normal.id, 1)]


def test_the_planner_ranks_waiting_work_as_the_policy_defines_it():
    # The planner inlines dispatch.engine.policy.queue_rank (it runs for every waiting job at every round).
    rng = random.Random(7)
    step, risk = AGING_STEP.total_seconds() / 3600, AT_RISK_SLACK.total_seconds() / 3600
    now_line = (NOW - GRID_EPOCH).total_seconds() / 3600
    for _ in range(500):
        waiting = job(
            priority=rng.choice((LOW, NORMAL, HIGH, URGENT)),
            queued_ago=timedelta(hours=rng.uniform(0, 100)),
            due_in=timedelta(hours=rng.uniform(-20, 200)),
            hours=rng.uniform(0.5, 30),
        )
        waited = (NOW - waiting.queued_at).total_seconds() / 3600
        slack = (waiting.deadline - NOW).total_seconds() / 3600 - waiting.hours

        key = _fair_key(waiting, waiting.hours, waiting.queued_at, NOW, 1.0, AGING_STEP, (now_line, now_line + risk))

        assert -key[0] == queue_rank(waiting.priority, waited, slack, step, risk)
