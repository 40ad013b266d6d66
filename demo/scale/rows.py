"""The rows of the scale data set, written with COPY: orders, stages, steps, events, artifacts, reviews and
their answers, approvals and findings, jobs and samples (`Rows`, a part of demo.scale.build.ScaleBuild).
"""

import secrets
from collections.abc import Iterator
from decimal import Decimal

from demo.bulk import copy_rows
from demo.scale.lives import ARTIFACT_FIELDS
from dispatch import services as dispatch_services
from dispatch.models import Job, QueueSample, UtilizationSample
from orders import production
from orders.models import Artifact, Order, OrderEvent, OrderStage, OrderStep, StepStatus
from security.models import Approval, Finding, Review, ReviewAnswer


class Rows:
    """The rows written in bulk (state and the other parts: demo.scale.build.ScaleBuild)."""

    def progress(self, order) -> tuple[list[production.StageCount], production.Progress]:
        """Its stages counted and its progress, as the services count them (orders.production); an order in flight
        as if counted now, a ready one when it became ready."""
        stages = [
            production.StageCount(
                stage.workshop,
                stage.status,
                len(stage.steps),
                sum(1 for step in stage.steps if step.status == StepStatus.DONE),
                sum((step.catalog.hours for step in stage.steps if step.status != StepStatus.DONE), Decimal(0)),
            )
            for stage in order.stages
        ]
        return stages, production.order_progress(status=order.status, stages=stages, at=order.ready_at or self.now)

    def order_rows(self) -> Iterator[tuple]:
        for order in self.orders:
            _stages, progress = self.progress(order)
            # One client in fifty revoked the tracking link.
            token = secrets.token_urlsafe(24) if order.id % 50 else None
            yield (
                order.id,
                order.reference,
                order.client.pk,
                order.title,
                order.product_type,
                order.client.sector,
                order.requirements,
                order.sensitivity,
                order.size,
                order.priority,
                order.requested,
                order.promised,
                progress.nominal_eta,
                order.status,
                progress.order,
                progress.current_workshop,
                order.placed_by,
                order.placed,
                order.accepted_at,
                order.delivered_at,
                order.closed_at,
                order.rating,
                order.rating_comment,
                order.compute.quantize(Decimal("0.01")),
                order.cost.quantize(Decimal("0.01")),
                token,
            )

    def stage_rows(self) -> Iterator[tuple]:
        for order in self.orders:
            counted, progress = self.progress(order)
            for stage, count, stage_progress in zip(order.stages, counted, progress.stages, strict=True):
                yield (
                    stage.id,
                    order.id,
                    stage.workshop,
                    stage.position,
                    stage.status,
                    stage_progress,
                    count.steps_total,
                    count.steps_done,
                    stage.started,
                    stage.finished,
                    stage.gate_passage,
                )

    def step_rows(self) -> Iterator[tuple]:
        for order in self.orders:
            for stage in order.stages:
                for step in stage.steps:
                    catalog = step.catalog
                    yield (
                        step.id,
                        stage.id,
                        catalog.id,
                        catalog.code,
                        catalog.name,
                        catalog.name_zh,
                        step.position,
                        catalog.pool_kind,
                        catalog.demand,
                        catalog.work,
                        catalog.hours,
                        step.status,
                        step.rework_count,
                        step.started,
                        step.finished,
                    )

    def review_rows(self) -> tuple[list, list, list, list]:
        reviews, answers, approvals, findings = [], [], [], []
        for order in self.orders:
            for review in order.reviews:
                stage = review.stage
                reviews.append(
                    (
                        review.id,
                        order.id,
                        stage.id,
                        stage.workshop,
                        review.passage,
                        review.status,
                        order.sensitive,
                        2 if order.sensitive else 1,
                        review.opened,
                        review.decided,
                        review.reviewer,
                    )
                )
                failed = review.failed[0] if review.failed else None
                for position, text, text_zh in self.checklists[stage.workshop]:
                    passed = (position != failed) if review.answered else None
                    note = review.failed[2] if position == failed else ""
                    answers.append((review.id, position, text, text_zh, passed, note))
                approvals.extend((review.id, reviewer, at) for reviewer, at in review.approvals)
                if review.failed:
                    findings.append((review.id, review.failed[1], review.failed[2]))
        return reviews, answers, approvals, findings

    def write(self, jobs, samples, queue_samples) -> str:
        reviews, answers, approvals, findings = self.review_rows()
        tables = [
            (
                Order,
                [
                    "id", "reference", "client", "title", "product_type", "sector", "requirements",
                    "data_sensitivity", "size", "priority", "requested_delivery", "promised_delivery", "eta",
                    "status", "progress", "current_workshop", "placed_by", "created_at", "accepted_at",
                    "delivered_at", "closed_at", "rating", "rating_comment", "compute_pflops_hours", "compute_cost",
                    "tracking_token",
                ],
                self.order_rows(),
            ),
            (
                OrderStage,
                [
                    "id", "order", "workshop", "position", "status", "progress", "steps_total", "steps_done",
                    "started_at", "finished_at", "gate_passage",
                ],
                self.stage_rows(),
            ),
            (
                OrderStep,
                [
                    "id", "stage", "catalog_step", "code", "name", "name_zh", "position", "pool_kind",
                    "demand_pflops", "work_pflops_hours", "nominal_hours", "status", "rework_count", "started_at",
                    "finished_at",
                ],
                self.step_rows(),
            ),
            (
                OrderEvent,
                ["order", "at", "actor", "kind", "from_status", "to_status", "workshop", "note", "internal"],
                self.events,
            ),
            (
                Artifact,
                ["id", "order", "stage", *ARTIFACT_FIELDS, "produced_at", "built_from"],
                self.artifacts,
            ),
            (
                Review,
                [
                    "id", "order", "stage", "workshop", "gate_passage", "status", "sensitive", "approvals_required",
                    "opened_at", "decided_at", "reviewer",
                ],
                reviews,
            ),
            (ReviewAnswer, ["review", "position", "item", "item_zh", "passed", "note"], answers),
            (Approval, ["review", "reviewer", "at"], approvals),
            (Finding, ["review", "severity", "text"], findings),
            (
                Job,
                [
                    "order", "step", "pool", "last_pool", "state", "priority", "kind", "sensitive", "demand_pflops",
                    "work_pflops_hours", "done_pflops_hours", "cost", "deadline", "queued_at", "started_at",
                    "finished_at", "pending_reason", "expected_start",
                ],
                jobs,
            ),
            (
                UtilizationSample,
                ["pool", "at", "used_pflops", "background_pflops", "capacity_pflops", "queued_jobs", "cost"],
                samples,
            ),
            (QueueSample, ["at", "priority", "waiting_jobs", "mean_wait_hours", "longest_wait_hours"], queue_samples),
        ]  # fmt: skip
        written = []
        for model, fields, rows in tables:
            count = copy_rows(model, fields, rows)
            written.append(f"{count:,} {model._meta.verbose_name_plural}")
        dispatch_services.daily_costs_rebuild()
        dispatch_services.stages_compute_rebuild()
        return ", ".join(written)
