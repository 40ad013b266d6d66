"""Playing a past: stories, each a generator of the moments of its actions, run in one chronological sweep.

A story yields the moment of its next action and does that action when the sweep resumes it, with the factory
clock held at that moment (`factory.clock.held`): every service it calls stamps that moment, so timelines,
references and SLA flags come out as they would have.
"""

import heapq
from collections.abc import Iterator
from datetime import datetime

from factory.clock import Hands


def play(streams: list[Iterator[datetime]], hands: Hands, *, until: datetime, strict: bool = False) -> None:
    """Run every story's next action in time order, with the held clock's ``hands`` at that action's moment.

    A story stops at its first moment after ``until``; a moment before the story's previous one is played at the
    previous one. ``strict`` refuses both instead: the story was planned to keep within the past.
    """
    queue: list[tuple[datetime, int]] = []

    def push(moment: datetime | None, index: int, previous: datetime | None = None) -> None:
        if moment is None:
            return
        if strict and moment > until:
            raise ValueError("A demo story ran past the present.")
        if strict and previous is not None and moment < previous:
            raise ValueError("A demo story went back in time.")
        if moment <= until:
            heapq.heappush(queue, (max(moment, previous or moment), index))

    for index, stream in enumerate(streams):
        push(next(stream, None), index)
    while queue:
        moment, index = heapq.heappop(queue)
        hands.at = moment
        push(next(streams[index], None), index, moment)
