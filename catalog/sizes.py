"""How an order's size scales the nominal compute work and duration of every step, and which steps apply.

Plain strings and Decimals, no Django: the catalog's models use them, and so do the benchmarks, which run
without Django (bench/year.py). The keys are the values of `catalog.models.Size`.
"""

from decimal import Decimal

SIZE_FACTORS = {"small": Decimal("0.5"), "medium": Decimal("1"), "large": Decimal("2.5")}
# A step applies from its `min_size` on: to orders whose size ranks at least as high.
SIZE_RANK = {"small": 0, "medium": 1, "large": 2}
