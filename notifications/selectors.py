"""The inbox's reads."""

from notifications import kinds as notice_kinds
from notifications.models import Notice


def unread_count(user) -> int:
    return Notice.objects.filter(recipient=user, read_at__isnull=True).count()


def inbox(user):
    """`user`'s notices, the latest first."""
    return Notice.objects.filter(recipient=user).order_by("-created_at", "-id")


def with_words(notices) -> list[dict]:
    """Each notice with its title and line in the active language."""
    shown = []
    for notice in notices:
        kind = notice_kinds.kind_named(notice.kind)
        title, line = kind.words(notice.params) if kind else (notice.kind, "")
        shown.append({"notice": notice, "title": title, "line": line})
    return shown


def events_told(events) -> set[str]:
    """Which of `events` someone was already told of: a watch that runs every minute tells only of the new ones."""
    return set(Notice.objects.filter(event__in=list(events)).values_list("event", flat=True).distinct())
