"""factory-boy under the name `factory_boy`.

factory-boy's import name is `factory`, which is also this project's package (DESIGN.md fixes
that name). factory-boy uses only relative imports internally, so it is loaded from its installed
files under another name; test code imports `from tests.boy import factory_boy`.
"""

import importlib.metadata
import importlib.util
import sys
from pathlib import Path


def _load():
    if "factory_boy" in sys.modules:
        return sys.modules["factory_boy"]
    init = Path(importlib.metadata.distribution("factory_boy").locate_file("factory/__init__.py"))
    spec = importlib.util.spec_from_file_location("factory_boy", init, submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["factory_boy"] = module
    spec.loader.exec_module(module)
    return module


factory_boy = _load()
