"""The demo factory as plain data: its sites and pools, and the mix of the orders that arrive.

No Django (an import contract keeps it so): the benchmarks run on these figures without a database
(bench/year.py, and bench/live_eta.py through it), and the demo's builders and simulated staff make the
demo factory from the same ones, so that what the benchmarks measure is the factory the demo shows.
Kinds, priorities, product types, sizes and sectors are the values of the catalog's and orders' choices.
"""

from collections.abc import Iterator
from typing import NamedTuple


class Pool(NamedTuple):
    name: str
    kind: str
    trusted: bool
    pflops: int  # dispatchable
    price: int  # CNY per PFLOPS·h


class Site(NamedTuple):
    city: str
    in_province: bool
    monitored_pflops: int
    pools: tuple[Pool, ...]


# ~2000 PFLOPS dispatchable out of ~7000 monitored, like the real provincial platform.
DEMO_SITES = {
    "Xinghe Provincial AI Computing Center": Site(
        "Xinghe",
        True,
        2600,
        (
            Pool("xinghe-train-trusted", "training", True, 420, 36),
            Pool("xinghe-data-trusted", "data_processing", True, 160, 32),
            Pool("xinghe-infer-trusted", "inference", True, 180, 34),
        ),
    ),
    "Lanxi Government Cloud": Site(
        "Lanxi",
        True,
        1200,
        (
            Pool("lanxi-data-trusted", "data_processing", True, 120, 32),
            Pool("lanxi-infer-trusted", "inference", True, 140, 34),
        ),
    ),
    "Qinghe Industrial Park Data Center": Site(
        "Qinghe",
        True,
        900,
        (Pool("qinghe-train", "training", False, 260, 28), Pool("qinghe-data", "data_processing", False, 100, 26)),
    ),
    "Eastern Hub (out of province)": Site(
        "Eastport",
        False,
        1600,
        (Pool("east-train", "training", False, 380, 24), Pool("east-infer", "inference", False, 140, 24)),
    ),
    "Western Compute Hub (out of province)": Site(
        "Westvale",
        False,
        700,
        (Pool("west-data", "data_processing", False, 60, 22), Pool("west-infer", "inference", False, 40, 22)),
    ),
}


def seeded_pools() -> Iterator[tuple[str, Site, Pool, int]]:
    """Every demo pool, in order: its site's name, its site, the pool, and the seed of the other tenants' load on it
    (dispatch.engine.background), as the demo creates the pool and the dispatch tick then reads it."""
    for site_index, (site_name, site) in enumerate(DEMO_SITES.items()):
        for pool_index, pool in enumerate(site.pools):
            yield site_name, site, pool, site_index * 10 + pool_index + 1


# What arrives in a year, as shares of the orders: the mix the catalog is calibrated on (bench/year.py: 800 vertical
# models a year, 1,000 orders, offer about 85 % of each pool kind's room on the demo pools).
PRODUCT_MIX = {"dataset": 0.20, "model": 0.45, "agent": 0.25, "application": 0.10}
SIZE_MIX = {"small": 0.50, "medium": 0.35, "large": 0.15}
PRIORITY_MIX = {"low": 0.15, "normal": 0.70, "high": 0.12, "urgent": 0.03}
# Sector -> (share of orders, clients). Healthcare and government data is sensitive: trusted pools only.
SECTORS = {
    "government": (0.10, 8),
    "healthcare": (0.10, 10),
    "finance": (0.30, 14),
    "manufacturing": (0.30, 16),
    "education": (0.20, 12),
}
SENSITIVE_SECTORS = ("government", "healthcare")
# Requested delivery = placing + nominal duration (steps' nominal hours and gates) x a stretch drawn per priority:
# urgent orders ask for little more than the nominal duration, low-priority ones for plenty.
STRETCH = {"urgent": (1.1, 1.4), "high": (1.2, 1.8), "normal": (1.3, 2.5), "low": (1.8, 3.0)}
# The demo's clients ask for these priorities (weights); only staff may mark an order urgent.
CLIENT_PRIORITY_MIX = {"normal": 70, "high": 15, "low": 15}

# Mean factory hours a ready step of a played past waits for compute, by priority: most steps are placed at the next
# tick, training steps queue for the big pools.
WAIT_HOURS = {"urgent": 0.02, "high": 0.05, "normal": 0.15, "low": 0.5}
TRAINING_WAIT_HOURS = {"urgent": 0.1, "high": 0.5, "normal": 1.5, "low": 4.0}
