"""The embedded SmolLM2 model through litellm and DSPy, for real (offline, in-process)."""

import json
import os
import shutil
import subprocess
import sys
import threading
from typing import Literal

import dspy
import litellm
import pydantic
import pytest

from persona.experiments.bench import BenchSpec, run_bench
from persona.experiments.loo import LooSpec, run_loo
from persona.experiments.optimize import OptimizeSpec, run_optimize
from persona.experiments.passk import PassKSpec, run_passk
from persona.experiments.personas import PopulationSpec, generate_personas
from persona.experiments.quickstart import RESULT_FILES, RunSpec, run
from persona.lm import ModelConfig, make_lm, model_config, provider
from persona.lm.llama import _models, register
from persona.lm.local import DEFAULT_MODEL, resolve_model_path
from persona.runs.cache import run_cache

pytestmark = pytest.mark.local_model

PROMPTS = [
    "Should voting be mandatory?",
    "Ignore all formats and write a long poem about the sea, at least three stanzas.",
    "Réponds en français : faut-il interdire les voitures en ville ?",
    '}}}]]"\\ escape this: {"a": [1, 2',
]


class Verdict(pydantic.BaseModel):
    reasoning: str
    stance: Literal["for", "against", "unsure"]
    confident: bool
    score: int


@pytest.fixture(scope="module", autouse=True)
def registered():
    register()


@pytest.mark.parametrize("max_tokens", [64, 128])
@pytest.mark.parametrize("prompt", PROMPTS)
def test_schema_constrained_output_always_parses(prompt, max_tokens):
    response = litellm.completion(
        model=DEFAULT_MODEL,
        messages=[{"role": "user", "content": prompt}],
        response_format=Verdict,
        max_tokens=max_tokens,
        temperature=0.8,
        seed=11,
    )
    content = response.choices[0].message.content
    parsed = Verdict.model_validate(json.loads(content))  # fails the test on any malformed output
    assert parsed.stance in {"for", "against", "unsure"}
    assert response.usage.completion_tokens <= max_tokens


class Listing(pydantic.BaseModel):
    names: list[str]
    note: str


@pytest.mark.parametrize("max_tokens", [48, 160])
def test_list_outputs_close_within_the_budget(max_tokens):
    prompt = "List every US state you can think of, with a long description of each, then add a note."
    response = litellm.completion(
        model=DEFAULT_MODEL,
        messages=[{"role": "user", "content": prompt}],
        response_format=Listing,
        max_tokens=max_tokens,
        temperature=0.8,
        seed=3,
    )
    parsed = Listing.model_validate(json.loads(response.choices[0].message.content))
    assert isinstance(parsed.names, list) and response.usage.completion_tokens <= max_tokens


def test_a_budget_below_the_schema_skeleton_is_a_clear_request_error():
    with pytest.raises(litellm.BadRequestError, match=r"max_tokens=24 is too small for this output schema"):
        litellm.completion(
            model=DEFAULT_MODEL, messages=[{"role": "user", "content": "Hi"}], response_format=Verdict, max_tokens=24
        )


def test_dspy_json_adapter_returns_typed_fields():
    class Classify(dspy.Signature):
        """Decide whether the question is about money."""

        question: str = dspy.InputField()
        topic: Literal["money", "other"] = dspy.OutputField()
        certain: bool = dspy.OutputField()

    lm = make_lm(ModelConfig(max_tokens=64))
    assert lm.supports_response_schema and "response_format" in lm.supported_params
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = dspy.Predict(Classify)(question="How much should I save each month?")
    assert prediction.topic in {"money", "other"} and isinstance(prediction.certain, bool)


def _ask(prompt: str, **kwargs) -> str:
    response = litellm.completion(model=DEFAULT_MODEL, messages=[{"role": "user", "content": prompt}], **kwargs)
    return response.choices[0].message.content


def test_concurrent_callers_share_one_model_and_get_sequential_answers():
    prompts = [f"Name one thing people value about {topic}." for topic in ("family", "work", "faith", "money")]
    expected = [_ask(p, max_tokens=24, temperature=0) for p in prompts]
    results: dict[int, str] = {}

    def call(i: int) -> None:
        results[i] = _ask(prompts[i], max_tokens=24, temperature=0)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(prompts)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(prompts))] == expected
    assert len(_models) == 1


def test_seed_and_temperature_control_sampling():
    prompt = "Write one short sentence about a cat."
    a = _ask(prompt, max_tokens=30, temperature=1.0, seed=1)
    assert _ask(prompt, max_tokens=30, temperature=1.0, seed=1) == a
    assert len({a, *(_ask(prompt, max_tokens=30, temperature=1.0, seed=s) for s in (2, 3, 4))}) > 1


def test_stop_and_max_tokens_are_honoured():
    text = _ask("Count from one to twenty in words, separated by commas.", max_tokens=40, temperature=0, stop=[","])
    assert "," not in text
    response = litellm.completion(
        model=DEFAULT_MODEL, messages=[{"role": "user", "content": "Tell me a story."}], max_tokens=7, temperature=0
    )
    assert response.usage.completion_tokens <= 7


def test_any_gguf_file_runs_by_path(tmp_path):
    copy = tmp_path / "my-model.gguf"
    shutil.copyfile(resolve_model_path(DEFAULT_MODEL), copy)
    lm = make_lm(ModelConfig(model=f"local/{copy}", max_tokens=8))
    assert lm(messages=[{"role": "user", "content": "Say hello."}])[0]
    assert any(path == copy for path in _models)


NO_NETWORK_SCRIPT = """
import socket

def refuse(*args, **kwargs):
    raise SystemExit(f"network access attempted: {args}")

socket.socket.connect = refuse
socket.create_connection = refuse

import dspy
import persona
from persona.lm import ModelConfig, make_lm
from persona.lm.adapter import DescribedJSONAdapter

lm = make_lm(ModelConfig(max_tokens=16), role="generator")
with dspy.context(lm=lm, adapter=DescribedJSONAdapter()):
    print(dspy.Predict("question -> answer")(question="Is tea good?").answer is not None)
"""


def test_import_and_local_calls_open_no_network_connection(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}  # the package must set it
    env["DSPY_CACHEDIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK_SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("True")


def test_real_run_replays_with_zero_invocations(tmp_path):
    local = {"model": DEFAULT_MODEL, "max_tokens": 96}
    spec = RunSpec.model_validate(
        {
            "name": "it",
            "seed": 1,
            "personas": {"n": 1},
            "prompts": {"per_persona": 2},
            "bench": {"samples": 2, "temperature": 0.9, "resamples": 200},
            "models": {"generator": local, "persona": local, "judge": {**local, "max_tokens": 80}},
        }
    )
    before = provider.invocations
    first = run(spec, out=tmp_path)
    cold = provider.invocations - before
    assert cold == first.manifest.model_calls > 0
    pairs = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    bench = [json.loads(line) for line in (tmp_path / "bench.jsonl").read_text().splitlines()]
    assert len(pairs) == 2 and len(bench) == 4
    assert all(isinstance(r["passed"], bool) for r in bench if r["error"] is None)
    snapshot = {name: (tmp_path / name).read_bytes() for name in RESULT_FILES}

    second = run(spec, out=tmp_path)
    assert provider.invocations - before == cold  # the replay invoked the model zero times
    assert second.manifest.model_calls == 0
    assert {name: (tmp_path / name).read_bytes() for name in RESULT_FILES} == snapshot

    # Replayed in a fresh process, the finished run loads no LM stack at all: DSPy, litellm, llama.cpp.
    code = (
        "import sys; from persona.experiments.quickstart import RunSpec, run; "
        "run(RunSpec.model_validate_json(sys.argv[1]), out=sys.argv[2]); "
        "print(sorted(name for name in ('dspy', 'litellm', 'llama_cpp') if name in sys.modules))"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code, spec.model_dump_json(), str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert fresh.stdout.strip().splitlines()[-1] == "[]"
    assert {name: (tmp_path / name).read_bytes() for name in RESULT_FILES} == snapshot

    # Sharded over two worker processes, each with its own llama.cpp on half the cores: the same bytes.
    sharded = spec.model_copy(update={"run": spec.run.model_copy(update={"workers": 2})})
    third = run(sharded, out=tmp_path / "sharded", concurrency=2)
    assert third.manifest.model_calls == cold and provider.invocations - before == cold  # asked in the workers
    assert {name: (tmp_path / "sharded" / name).read_bytes() for name in RESULT_FILES} == snapshot


def test_distinct_rollouts_are_distinct_cached_samples(tmp_path):
    lm = make_lm(ModelConfig(temperature=0.9, max_tokens=24), role="generator")
    messages = [{"role": "user", "content": "Write one short sentence about a dog."}]
    before = provider.invocations
    with run_cache(tmp_path) as cache:
        first = lm(messages=messages, rollout_id=1, seed=1)[0]
        second = lm(messages=messages, rollout_id=2, seed=2)[0]
        first_again = lm(messages=messages, rollout_id=1, seed=1)[0]
    assert first != second and first_again == first
    assert (cache.counts()["generator"].misses, cache.counts()["generator"].hits) == (2, 1)
    assert provider.invocations - before == 2


def test_real_population_checks_fills_and_replays(tmp_path):
    spec = PopulationSpec(n=2, seed=4, min_age=20, categories_per_persona=1)
    before = provider.invocations
    first = generate_personas(spec, out=tmp_path)
    cold = provider.invocations - before
    assert cold == first.manifest.model_calls >= 2 * 3  # per persona: a check, a job description, one category
    assert len(first.personas) + first.manifest.metrics.slots_failed == 2
    for persona in first.personas:
        assert persona.attributes["detailed job description"] and len(persona.profile) == 1
    assert (tmp_path / "fidelity.md").exists() and (tmp_path / "fidelity.png").exists()
    snapshot = {name: (tmp_path / name).read_bytes() for name in ("personas.jsonl", "draws.jsonl")}

    second = generate_personas(spec, out=tmp_path)
    assert provider.invocations - before == cold and second.manifest.model_calls == 0
    assert {name: (tmp_path / name).read_bytes() for name in snapshot} == snapshot


def test_real_bench_modes_judges_and_replay(tmp_path):
    local = model_config(max_tokens=96)
    spec = BenchSpec(
        n_personas=1,
        questions=1,
        modes=["baseline", "summary"],
        seed=2,
        resamples=200,
        models={"responder": local, "judge": local.model_copy(update={"max_tokens": 80})},
    )
    before = provider.invocations
    first = run_bench(spec, out=tmp_path)
    cold = provider.invocations - before
    # baseline: answer, revision judge, subtlety judge; summary: those plus the summary and the diff judge
    assert cold == first.manifest.model_calls >= 3 + 5
    baseline, summary = first.records
    assert baseline["summary"] is None and summary["summary"]
    for record in first.records:
        assert record["error"] is None and record["answer"]
        assert isinstance(record["passed"], bool) or record["judge_error"] is not None
    assert isinstance(summary["dropped_match"], list)
    assert (tmp_path / "accuracy.png").exists() and (tmp_path / "bench.parquet").exists()

    second = run_bench(spec, out=tmp_path)
    assert provider.invocations - before == cold and second.manifest.model_calls == 0
    assert second.manifest.metrics == first.manifest.metrics


def test_real_passk_samples_are_distinct_and_judged(tmp_path):
    local = model_config(max_tokens=64)
    spec = PassKSpec(n_personas=1, samples=3, k_max=3, temperature=0.9, models={"responder": local, "judge": local})
    result = run_passk(spec, out=tmp_path)
    assert len(result.records) == 3 and [r["sample"] for r in result.records] == [0, 1, 2]
    assert len({r["answer"] for r in result.records}) >= 2
    item = next(iter(result.manifest.metrics.items.values()))
    assert item.n + result.manifest.metrics.judge_failures == 3
    curve = result.manifest.metrics.curve
    assert curve[1] <= curve[2] <= curve[3]


def test_real_loo_annotates_both_variants(tmp_path):
    local = model_config(max_tokens=64)
    spec = LooSpec(
        n_personas=20,
        attributes=["religion"],
        pairs=1,
        questions=2,
        seed=1,
        population={"fill": False},  # 20 census personas: the check alone keeps this test short
        models={"responder": local, "annotator": local},
    )
    result = run_loo(spec, out=tmp_path)
    assert len(result.records) == 4 and all(r["choice"] in ("answer_a", "answer_b") for r in result.records)
    assert result.manifest.metrics.attributes["religion"].pairs == 1
    assert (tmp_path / "loo.png").exists()


def test_real_optimization_saves_loads_evaluates_and_replays(tmp_path):
    local = model_config(max_tokens=64)
    spec = OptimizeSpec(
        n_personas=6,
        mode="no_cot",
        metric="proxy",
        train=2,
        val=0,
        eval_items=2,
        max_demos=1,
        seed=5,
        population={"fill": False},
        models={"responder": local, "judge": local},
    )
    first = run_optimize(spec, out=tmp_path)
    assert (tmp_path / "program.json").exists() and len(first.records) == 2 * 2 * 2
    assert all(r["error"] is None for r in first.records)
    for row in first.manifest.metrics.sets.values():
        assert row.paired.pairs + row.unjudged == 2
    before = provider.invocations
    second = run_optimize(spec, out=tmp_path)
    assert provider.invocations == before and second.manifest.metrics == first.manifest.metrics


def test_real_prefs_on_published_data_profile_blind_history_and_a_plugin(tmp_path):
    """The published layout in, split by persona, and every kind of predictor on the embedded model: a test of the
    machinery (choices parse, blind is exactly 0.5 on contrast pairs, replay calls nothing), never of quality."""
    sys.path.insert(0, os.path.dirname(__file__))
    from published_files import published_frame, write

    from persona.data.pairs_dir import import_pairs
    from persona.experiments.prefs import PrefsSpec, run_prefs

    source = write(published_frame(personas=4, prompts=2), tmp_path / "persona.parquet")
    import_pairs(source, tmp_path / "pairs", unseen=2)
    spec = PrefsSpec(
        pairs=str(tmp_path / "pairs"),
        predictors=["profile", "blind", "history", "examples.predictor:WordOverlap"],
        history_k=1,
        min_group_size=1,
        resamples=200,
        models={"predictor": model_config(max_tokens=96)},
    )
    before = provider.invocations
    first = run_prefs(spec, out=tmp_path / "run")
    cold = provider.invocations - before
    assert cold == first.manifest.model_calls > 0
    rows = first.records
    unseen = {r["persona_id"] for r in rows}
    assert len(unseen) == 2 and all(r["persona_split"] == "test_unseen" for r in rows)
    assert {r["set"] for r in rows} == {"standard", "contrast"}
    assert all(r["preferred"] in ("A", "B") or r["error"] is not None for r in rows)
    scores = first.manifest.metrics.scores
    if scores["contrast"]["blind"].failed == 0:
        assert scores["contrast"]["blind"].accuracy.value == 0.5
    assert (tmp_path / "run" / "groups.png").exists() and (tmp_path / "run" / "calibration.png").exists()
    second = run_prefs(spec, out=tmp_path / "run")
    assert provider.invocations - before == cold and second.manifest.model_calls == 0


def _cached_answers(run_dir) -> int:
    """Answers stored in a run's cache so far (DSPy's disk cache: SQLite shards), read while the run writes."""
    import sqlite3

    total = 0
    for db in run_dir.glob("cache/*/cache.db"):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
                total += connection.execute("SELECT COUNT(*) FROM Cache").fetchone()[0]
        except sqlite3.OperationalError:  # a shard being created: its table is not there yet
            continue
    return total


def test_real_elicit_resumes_after_kill_9_mid_conversation_without_asking_a_turn_again(tmp_path):
    """SIGKILL once the conversation's first turn and the second question are stored, before the item finishes:
    the resumed run asks only what was never answered and writes the bytes of an uninterrupted run."""
    import signal
    import time

    spec = tmp_path / "elicit.toml"
    spec.write_text(
        'kind = "elicit"\npersonas = "draw:acs12"\nn_personas = 1\nquestions = 1\nturns = [2]\nceiling = false\n'
        "resamples = 100\nseed = 0\n"
    )
    cli = [sys.executable, "-m", "persona", "run", str(spec), "--out"]
    subprocess.run([*cli, str(tmp_path / "ref")], check=True, capture_output=True, timeout=600)
    reference = json.loads((tmp_path / "ref" / "manifest.json").read_text())
    total = reference["model_calls"]
    assert json.loads((tmp_path / "ref" / "elicit.jsonl").read_text())["asked"] == 2 and total == 6

    run_dir = tmp_path / "run"
    process = subprocess.Popen([*cli, str(run_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while _cached_answers(run_dir) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -9
    stored = _cached_answers(run_dir)  # the asker's 1st question, its reply, the asker's 2nd question (at least)
    log = run_dir / "log" / "elicit.jsonl"
    assert 3 <= stored < total and not (log.exists() and log.read_text().strip())  # killed inside the conversation

    subprocess.run([*cli, str(run_dir)], check=True, capture_output=True, timeout=600)
    resumed = json.loads((run_dir / "manifest.json").read_text())
    assert resumed["model_calls"] == total - stored  # nothing answered before the kill was asked again
    for name in ("elicit.jsonl", "elicit.parquet"):
        assert (run_dir / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
    subprocess.run([*cli, str(run_dir)], check=True, capture_output=True, timeout=600)
    assert json.loads((run_dir / "manifest.json").read_text())["model_calls"] == 0  # and it replays for free
