"""Prompt curation: the paper's rules on edge cases, stratified splits, sources and their errors, the LM step."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest
from dspy.utils import DummyLM
from typer.testing import CliRunner

from persona.cli import app
from persona.data.filters import apply_rules, dedupe_key, rule_reason, stratified_split
from persona.data.prompts import Prompt, PromptSourceError, load_embedded_prompts, load_prompts, normalise
from persona.experiments.curation import CurationSpec, curate
from persona.lm import ModelConfig
from persona.programs.curation import PromptClassifier


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Should voting be mandatory for everyone?   ", None),  # trailing spaces are not words
        ("Is it fair?? Really, is it fair to tax wealth?", None),  # several question marks still ask
        ("¿Debería ser obligatorio votar en las elecciones?", None),  # non-English passes the rules
        ("Devrait-on interdire les voitures en ville ?", None),
        ("是否应该强制投票\uff1f", None),  # full-width question mark; each CJK character counts as a word
        ("投票\uff1f", "fewer than 5 words"),
        ("هل يجب أن يكون التصويت إلزاميا للجميع\u061f", None),  # Arabic question mark
        ("Why   do   we   vote?", "fewer than 5 words"),  # four words however spaced
        ("Tell me about taxes and public services please", "no question mark"),
        ("?", "fewer than 5 words"),
    ],
)
def test_paper_rules_on_edge_cases(text, reason):
    assert rule_reason(text) == reason


def test_normalising_and_deduplication_keep_the_first_and_name_it():
    prompts = [
        Prompt(id="a", text="  Should  voting be mandatory for all?"),
        Prompt(id="b", text="should voting be MANDATORY for all ?"),
        Prompt(id="c", text="Short one?"),
        Prompt(id="d", text="Is coffee better than tea for mornings?"),
    ]
    kept, dropped = apply_rules(prompts)
    assert [p.id for p in kept] == ["a", "d"] and kept[0].text == "Should voting be mandatory for all?"
    assert dropped == [
        {"id": "b", "text": prompts[1].text, "reason": "duplicate of a"},
        {"id": "c", "text": "Short one?", "reason": "fewer than 5 words"},
    ]
    assert normalise("a\u00a0 b\n") == "a b" and dedupe_key("Why Not?") == dedupe_key("why not")


def test_split_is_stratified_by_topic_in_the_requested_ratio():
    prompts = [Prompt(id=f"{t}-{i}", topic=t, text="x") for t, n in (("a", 40), ("b", 13), ("c", 7)) for i in range(n)]
    split = stratified_split(prompts, (3000, 868), seed=1)
    assert len(split) == 60
    per_topic = Counter((p.topic, split[p.id]) for p in prompts)
    for topic, n in (("a", 40), ("b", 13), ("c", 7)):
        train = per_topic[(topic, "train")]
        assert abs(train - n * 3000 / 3868) < 1 and per_topic[(topic, "heldout")] >= 1
    assert sum(v == "train" for v in split.values()) == round(60 * 3000 / 3868)
    assert split == stratified_split(prompts, (3000, 868), seed=1) != stratified_split(prompts, (3000, 868), seed=2)
    tiny = [Prompt(id="x", topic="t", text="q"), Prompt(id="y", topic="t", text="q")]
    assert sorted(stratified_split(tiny, (99, 1), seed=0).values()) == ["heldout", "train"]


def test_embedded_set_has_150_questions_over_15_topics_mixing_kinds():
    prompts = load_embedded_prompts()
    assert len(prompts) >= 150 and len({p.topic for p in prompts}) >= 15
    kinds = Counter(p.kind for p in prompts)
    assert kinds["value-laden"] > kinds["factual"] > 0
    assert all(rule_reason(p.text) is None for p in prompts)


def test_file_sources_and_their_errors(tmp_path):
    prism = tmp_path / "conversations.jsonl"
    prism.write_text(
        json.dumps({"conversation_id": "c1", "opening_prompt": "What should I cook for guests tonight?"})
        + "\n\n"
        + json.dumps({"conversation_id": "c2", "opening_prompt": "Is it ok to lie to protect a friend?"})
        + "\n"
    )
    assert [(p.id, p.text) for p in load_prompts(str(prism))][1] == ("c2", "Is it ok to lie to protect a friend?")
    table = pd.DataFrame({"question": ["Should we ban cars downtown?", "Is nuclear power safe enough?"]})
    table.to_csv(tmp_path / "q.csv", index=False)
    assert [p.id for p in load_prompts(str(tmp_path / "q.csv"), column="question")] == ["q-00002", "q-00003"]

    prism.write_text(json.dumps({"opening_prompt": "Fine?"}) + "\n{not json\n")
    with pytest.raises(PromptSourceError, match=r"conversations.jsonl:2: not valid JSON"):
        load_prompts(str(prism))
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(PromptSourceError, match=r"empty.jsonl: no prompts"):
        load_prompts(str(tmp_path / "empty.jsonl"))
    with pytest.raises(PromptSourceError, match=r"q.csv: no column 'text' \(columns: \['question'\]\)"):
        load_prompts(str(tmp_path / "q.csv"))
    (tmp_path / "rows.jsonl").write_text(json.dumps({"prompt": "Why?"}) + "\n")
    with pytest.raises(PromptSourceError, match=r"rows.jsonl:1: no text in field 'text'"):
        load_prompts(str(tmp_path / "rows.jsonl"))


def test_classifier_keeps_source_topics_and_maps_lm_topics_onto_the_list():
    lm = DummyLM(
        [
            {"reason": "values differ", "diverse_opinions": True},
            {"reason": "values differ", "diverse_opinions": True},
            {"topic": "Money."},
            {"reason": "a fact", "diverse_opinions": False},
            {"topic": "astrology"},
        ]
    )
    classifier = PromptClassifier(lm, topics=["money", "politics"])
    labelled = classifier(prompt=Prompt(id="1", topic="family", text="Should kids do chores?"))
    assert (labelled.topic, labelled.topic_by) == ("family", "source") and len(lm.history) == 1
    guessed = classifier(prompt=Prompt(id="2", text="Should I rent or buy?"))
    assert (guessed.topic, guessed.topic_by, guessed.diverse_opinions) == ("money", "lm", True)
    other = classifier(prompt=Prompt(id="3", text="How many moons does Mars have?"))
    assert other.topic == "other" and other.diverse_opinions is False


def test_curation_lists_every_dropped_prompt_and_replays(tmp_path, fake_provider):
    source = tmp_path / "mine.jsonl"
    texts = [f"Should people in town number {i} pay more local taxes?" for i in range(30)]
    texts += ["no question here at all, sorry", "Too short?", texts[0].upper()]
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    spec = CurationSpec(source=str(source), model=ModelConfig(model="fake/model"), train=3, heldout=1)
    result = curate(spec, out=tmp_path / "run")
    assert len(result.kept) + len(result.dropped) == len(texts)  # nothing is lost silently
    reasons = Counter(d["reason"].split(":")[0] for d in result.dropped)
    assert (
        reasons["no question mark"] == 1
        and reasons["fewer than 5 words"] == 1
        and reasons["duplicate of mine-00001"] == 1
    )
    assert reasons["not controversial"] > 0  # the scripted classifier says no to about half
    assert all(r["topic"] and r["split"] in ("train", "heldout") for r in result.kept)
    md = (tmp_path / "run" / "curation.md").read_text()
    assert "| read | 33 |" in md and "no question here at all" in md and (tmp_path / "run" / "topics.png").exists()
    calls = len(fake_provider.calls)
    snapshot = (tmp_path / "run" / "prompts.jsonl").read_bytes()
    curate(spec, out=tmp_path / "run")
    assert len(fake_provider.calls) == calls and (tmp_path / "run" / "prompts.jsonl").read_bytes() == snapshot


def test_cli_curate_embedded_without_lm_and_bad_source(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["prompts", "curate", "--no-classify", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    assert len(rows) == len(load_embedded_prompts()) and {r["split"] for r in rows} == {"train", "heldout"}
    bad = CliRunner().invoke(
        app, ["prompts", "curate", "--source", str(tmp_path / "nope.csv"), "--out", str(out / "x")]
    )
    assert bad.exit_code == 2 and "no such prompt file" in bad.output and not (out / "x").exists()


def test_cli_curate_exits_1_when_the_classifier_fails_an_item(tmp_path, fake_provider):
    from fakes import FAIL_MARKER

    source = tmp_path / "mine.jsonl"
    texts = [f"Should people in town number {i} pay more local taxes?" for i in range(4)]
    texts.append(f"Should {FAIL_MARKER} be allowed to vote in local elections?")
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    args = ["prompts", "curate", "--source", str(source), "--model", "fake/model", "--split", "3:1"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    assert "1 items failed" in result.stderr
    dropped = [json.loads(line) for line in (tmp_path / "run" / "dropped.jsonl").open()]
    assert [d["reason"].split(":")[0] for d in dropped if FAIL_MARKER in d["text"]] == ["classifier failed"]
