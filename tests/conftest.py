"""Every test gets fresh DSPy settings and an in-memory cache, so no test sees another's answers."""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy
import pytest
from dspy.clients.cache import Cache

import fakes


@pytest.fixture(autouse=True)
def isolated_dspy():
    namespace = vars(dspy)
    previous = namespace.get("cache")
    namespace["cache"] = Cache(enable_disk_cache=False, enable_memory_cache=True, disk_cache_dir=None)
    with dspy.context(lm=None, adapter=None):
        yield
    if previous is None:
        namespace.pop("cache", None)
    else:
        namespace["cache"] = previous


@pytest.fixture
def fake_provider() -> fakes.FakeProvider:
    return fakes.register()
