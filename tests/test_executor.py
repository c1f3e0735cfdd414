"""Executor pieces on their own: the item log, backoff, rate limits, key sources, ordering and aborts."""

import json
import random
import sys
import time

import pytest

from persona.lm.retry import MAX_RETRY_AFTER_S, backoff_delay, retry_after
from persona.lm.secrets import SecretError, resolve_key
from persona.runs import ItemLog, LogCorruptError, run_items
from persona.runs import limits as limits_module
from persona.runs.limits import RateLimiter


def test_log_round_trip_and_later_lines_supersede(tmp_path):
    log = ItemLog(tmp_path / "log.jsonl")
    log.append("a", {"ok": False, "error": {"type": "X"}})
    log.append("b", {"ok": True, "record": {"v": 2}})
    log.append("a", {"ok": True, "record": {"v": 1}})
    log.close()
    assert ItemLog(tmp_path / "log.jsonl").load() == {
        "a": {"ok": True, "record": {"v": 1}},
        "b": {"ok": True, "record": {"v": 2}},
    }


def test_a_torn_last_line_is_cut_off(tmp_path):
    path = tmp_path / "log.jsonl"
    log = ItemLog(path)
    log.append("a", {"ok": True, "record": {}})
    log.close()
    intact = path.read_bytes()
    path.write_bytes(intact + b'{"key": "b", "entry": {"ok": tr')  # the process died mid-write
    assert set(ItemLog(path).load()) == {"a"}
    assert path.read_bytes() == intact  # the torn tail is gone, so the next append starts a clean line


def test_damage_before_the_end_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "log.jsonl"
    log = ItemLog(path)
    for key in "abc":
        log.append(key, {"ok": True, "record": {"k": key}})
    log.close()
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"k": "b"', '"k": "B"')  # a checksum mismatch
    path.write_text("".join(lines))
    with pytest.raises(LogCorruptError, match=r"log\.jsonl:2: damaged record"):
        ItemLog(path).load()


def test_results_come_back_in_item_order_whatever_finishes_first(tmp_path):
    def work(n: int) -> dict:
        time.sleep(random.random() / 100)
        return {"n": n}

    result = run_items(
        list(range(40)), key=str, make_work=lambda: work, log=ItemLog(tmp_path / "l.jsonl"), concurrency=8
    )
    assert [e.record["n"] for e in result.entries] == list(range(40)) and result.failed == 0


def test_resume_skips_finished_items(tmp_path):
    seen = []
    log_path = tmp_path / "l.jsonl"
    run_items([1, 2], key=str, make_work=lambda: lambda n: {"n": n}, log=ItemLog(log_path))
    result = run_items(
        [1, 2, 3], key=str, make_work=lambda: lambda n: seen.append(n) or {"n": n}, log=ItemLog(log_path)
    )
    assert seen == [3] and result.resumed == 2 and [e.record["n"] for e in result.entries] == [1, 2, 3]
    assert len(log_path.read_text().splitlines()) == 3  # nothing written twice


def test_failures_are_records_and_max_failures_aborts(tmp_path):
    def work(n: int) -> dict:
        error = ValueError(f"bad item {n}")
        error.attempts = 4
        raise error

    result = run_items(
        list(range(10)),
        key=str,
        make_work=lambda: work,
        log=ItemLog(tmp_path / "l.jsonl"),
        concurrency=1,
        max_failures=2,
    )
    assert result.aborted and result.failed == 2 and result.not_run == 8
    assert result.entries[0].error.model_dump() == {"type": "ValueError", "message": "bad item 0", "attempts": 4}
    assert result.entries[5].error.type == "NotRun"


def test_duplicate_keys_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not unique"):
        run_items([1, 1], key=str, make_work=lambda: lambda n: {}, log=ItemLog(tmp_path / "l.jsonl"))


def test_backoff_honours_retry_after_and_jitters_otherwise():
    assert backoff_delay(0, retry_after=2.5) == 2.5
    assert backoff_delay(0, retry_after=10_000) == MAX_RETRY_AFTER_S
    rng = random.Random(0)
    draws = [backoff_delay(3, rng=rng) for _ in range(200)]
    # Full jitter at attempt 3: uniform on [0, 0.5 * 2**3] = [0, 4] seconds.
    assert 0 <= min(draws) and max(draws) <= 4.0 and len(set(draws)) == 200 and 1.5 < sum(draws) / 200 < 2.5


def test_retry_after_is_found_beneath_dspy_errors():
    class LiteLLMError(Exception):
        litellm_response_headers = {"retry-after": "2.5"}  # noqa: RUF012

    class DSPyError(Exception):
        retry_after = None

    try:
        try:
            raise LiteLLMError("429")
        except LiteLLMError as inner:
            raise DSPyError("rate limited") from inner
    except DSPyError as outer:
        assert retry_after(outer) == 2.5
    milli = type("E", (Exception,), {"litellm_response_headers": {"retry-after-ms": "150"}})()
    assert retry_after(milli) == 0.15
    assert retry_after(ValueError("no hint")) is None


def test_rate_limiter_spaces_requests(monkeypatch):
    clock = {"now": 100.0}
    slept = []
    monkeypatch.setattr(limits_module.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(limits_module.time, "sleep", lambda s: slept.append(s))
    limiter = RateLimiter(rpm=120)  # one request every 0.5 s
    for _ in range(4):
        limiter.wait()
    assert slept == [0.5, 1.0, 1.5]  # the 2nd, 3rd, 4th waited for their slots; no clock movement here


def test_keys_from_env_or_command(monkeypatch):
    monkeypatch.setenv("PERSONA_K", "sk-env")
    assert resolve_key(env="PERSONA_K") == "sk-env"
    assert resolve_key(command=f"{sys.executable} -c \"print('sk-cmd')\"") == "sk-cmd"
    with pytest.raises(SecretError, match="exited 3 without printing a key"):
        resolve_key(command=f'{sys.executable} -c "import sys; sys.exit(3)"')
    monkeypatch.delenv("PERSONA_K")
    with pytest.raises(SecretError, match="PERSONA_K is not set"):
        resolve_key(env="PERSONA_K")
    assert resolve_key() is None


def test_log_lines_are_json_pandas_can_read(tmp_path):
    log = ItemLog(tmp_path / "l.jsonl")
    log.append("k", {"ok": True, "record": {"x": "é"}})
    log.close()
    assert json.loads((tmp_path / "l.jsonl").read_text())["entry"]["record"]["x"] == "é"
