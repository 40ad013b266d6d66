"""How order states look on every page (UI.md: one visual language), shared by staff, portal and tracking."""

from orders.models import OrderStatus, StageStatus

# Status colours mean the same everywhere (UI.md); the word always goes with the colour.
ORDER_STATUS_TONE = {
    OrderStatus.SUBMITTED: "grey",
    OrderStatus.ACCEPTED: "grey",
    OrderStatus.IN_PRODUCTION: "green",
    OrderStatus.AWAITING_REVIEW: "amber",
    OrderStatus.READY: "green",
    OrderStatus.DELIVERED: "green",
    OrderStatus.CLOSED: "green",
    OrderStatus.REJECTED: "red",
    OrderStatus.CANCELLED: "grey",
}
STAGE_STATUS_TONE = {
    StageStatus.PENDING: "grey",
    StageStatus.IN_PROGRESS: "green",
    StageStatus.AWAITING_REVIEW: "amber",
    StageStatus.REWORK: "red",
    StageStatus.APPROVED: "green",
}
