"""What the apps add to /healthz (factory.views.healthz), without the ground floor importing them: each registers a
check by name in its AppConfig.ready. A check answers its part of the report and the names of what is down in it;
something down there makes the factory "degraded", not unavailable (the dispatch center works around a cluster that
does not answer)."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Part:
    report: dict
    down: list[str] = field(default_factory=list)


_checks: dict[str, Callable[[], Part]] = {}


def register(name: str, check: Callable[[], Part]) -> None:
    _checks[name] = check


def parts() -> dict[str, Part]:
    return {name: check() for name, check in _checks.items()}
