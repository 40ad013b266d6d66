"""The inbox's reads, for its page and the API: a person's own notices only."""

from django.http import Http404
from django.utils.translation import gettext as _

from notifications import kinds as notice_kinds
from notifications.models import Notice


def unread_count(user) -> int:
    return Notice.objects.filter(recipient=user, read_at__isnull=True).count()


def inbox(user):
    """`user`'s notices, the latest first."""
    return Notice.objects.filter(recipient=user).order_by("-created_at", "-id")


def notice_of(*, user, pk) -> Notice:
    """One of `user`'s notices; Http404 for another person's or an unknown id (never revealing which)."""
    try:
        return inbox(user).get(pk=int(pk))
    except (Notice.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such notice.")) from None


def words_of(notice: Notice) -> tuple[str, str]:
    """The notice's title and line in the active language; a kind no longer declared shows its name."""
    kind = notice_kinds.kind_named(notice.kind)
    return kind.words(notice.params) if kind else (notice.kind, "")


def with_words(notices) -> list[dict]:
    """Each notice with its title and line in the active language."""
    shown = []
    for notice in notices:
        title, line = words_of(notice)
        shown.append({"notice": notice, "title": title, "line": line})
    return shown


def events_told(events) -> set[str]:
    """Which of `events` someone was already told of: a watch that runs every minute tells only of the new ones."""
    return set(Notice.objects.filter(event__in=list(events)).values_list("event", flat=True).distinct())
