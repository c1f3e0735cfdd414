"""The run cache: replay, api_base isolation, rollout ids, per-role counts, no credentials."""

import json

import dspy
import pytest

from persona.lm import ModelConfig, make_lm
from persona.runs.cache import RunCache, run_cache

MESSAGES = [{"role": "user", "content": "Should voting be mandatory?"}]


def _text(lm, **kwargs) -> str:
    return lm(messages=MESSAGES, **kwargs)[0]


def test_second_lookup_is_served_from_disk_in_a_new_cache(tmp_path, fake_provider):
    lm = make_lm(ModelConfig(model="fake/model"), role="generator")
    with run_cache(tmp_path) as first:
        answer = _text(lm)
    with run_cache(tmp_path) as second:
        replayed = _text(lm)
    assert replayed == answer
    assert len(fake_provider.calls) == 1
    assert first.counts()["generator"].misses == 1
    assert second.counts()["generator"].hits == 1 and second.counts()["generator"].misses == 0


def test_backends_differing_only_by_api_base_never_share_entries(tmp_path, fake_provider):
    one = make_lm(ModelConfig(model="fake/model", api_base="http://127.0.0.1:9001/v1"))
    two = make_lm(ModelConfig(model="fake/model", api_base="http://127.0.0.1:9002/v1"))
    with run_cache(tmp_path):
        a, b, a_again = _text(one), _text(two), _text(one)
    assert "9001" in a and "9002" in b
    assert a_again == a
    assert [call["api_base"] for call in fake_provider.calls] == [
        "http://127.0.0.1:9001/v1",
        "http://127.0.0.1:9002/v1",
    ]


def test_plain_dspy_cache_would_mix_them_up(tmp_path):
    # Why RunCache exists: DSPy's key drops api_base, so these two requests collide.
    request = {"model": "fake/model", "messages": MESSAGES}
    plain = dspy.clients.cache.Cache(False, True, None)
    ours = RunCache(tmp_path)
    ignored = ["api_key", "api_base", "base_url"]
    one, two = {**request, "api_base": "http://a"}, {**request, "api_base": "http://b"}
    assert plain.cache_key(one, ignored) == plain.cache_key(two, ignored)
    assert ours.cache_key(one, ignored) != ours.cache_key(two, ignored)
    ours.close()


def test_distinct_rollout_ids_are_cached_separately(tmp_path, fake_provider):
    lm = make_lm(ModelConfig(model="fake/model", temperature=0.7))
    with run_cache(tmp_path) as cache:
        first = _text(lm, rollout_id=1, seed=1)
        second = _text(lm, rollout_id=2, seed=2)
        first_again = _text(lm, rollout_id=1, seed=1)
    assert first != second
    assert first_again == first
    assert len(fake_provider.calls) == 2
    assert cache.counts()["untagged"].misses == 2 and cache.counts()["untagged"].hits == 1
    assert all("rollout_id" not in call["params"] for call in fake_provider.calls)  # stripped before the backend


def test_counts_are_kept_per_role(tmp_path, fake_provider):
    judge, generator = make_lm("fake/model", role="judge"), make_lm("fake/model", role="generator")
    with run_cache(tmp_path) as cache:
        _text(generator)
        _text(judge)  # same request as the generator's: a hit, booked to the judge
        _text(judge, temperature=0.5)
    counts = cache.counts()
    assert (counts["generator"].misses, counts["generator"].hits) == (1, 0)
    assert (counts["judge"].misses, counts["judge"].hits) == (1, 1)


def test_api_keys_never_reach_the_cache_files(tmp_path, fake_provider, monkeypatch):
    secret = "sk-test-PLANTED-0123456789abcdef"
    monkeypatch.setenv("PERSONA_TEST_KEY", secret)
    lm = make_lm(ModelConfig(model="fake/model", api_key_env="PERSONA_TEST_KEY"))
    with run_cache(tmp_path / "cache"):
        _text(lm)
    blobs = [path.read_bytes() for path in (tmp_path / "cache").rglob("*") if path.is_file()]
    assert blobs and not any(secret.encode() in blob for blob in blobs)
    assert secret not in json.dumps(lm.history[-1]["kwargs"])


def test_previous_global_cache_is_restored(tmp_path):
    before = dspy.cache
    with run_cache(tmp_path) as cache:
        assert dspy.cache is cache
    assert dspy.cache is before


@pytest.mark.parametrize("endpoint_key", ["api_base", "base_url"])
def test_endpoint_changes_key_but_credentials_do_not(tmp_path, endpoint_key):
    cache = RunCache(tmp_path)
    ignored = ["api_key", "api_base", "base_url"]
    base = {"model": "m", "messages": MESSAGES}
    assert cache.cache_key({**base, endpoint_key: "http://x"}, ignored) != cache.cache_key(base, ignored)
    assert cache.cache_key({**base, "api_key": "k1"}, ignored) == cache.cache_key({**base, "api_key": "k2"}, ignored)
    cache.close()
