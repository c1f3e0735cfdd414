"""The role-play study: its plan, its web app's rules (through HTTP, in process) and its export."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from starlette.testclient import TestClient
from study_server import links, make_study, questions_file

from persona.data.persona import ATTRIBUTES, read_personas
from persona.errors import InputError
from persona.experiments.agreement import load_annotations, write_agreement
from persona.metrics import majority_labels
from persona.study import StudyDesign, create_study, export_study
from persona.study.app import MAX_BODY, make_app
from persona.study.card import GROUPS, persona_card
from persona.study.design import plan_study, read_source
from persona.study.store import Store

REASON = "Because this person values their community a great deal."


def answer_rows(study: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(study / "study.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM answers ORDER BY assignment_id, position").fetchall()


def tasks_of(study: Path, label: str) -> list[sqlite3.Row]:
    with sqlite3.connect(study / "study.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute(
            "SELECT t.*, i.attention, i.expected FROM tasks t JOIN assignments s ON s.id = t.assignment_id "
            "JOIN items i ON i.id = t.item_id WHERE s.label = ? ORDER BY t.position",
            (label,),
        ).fetchall()


def complete(client: TestClient, path: str, study: Path, label: str, pick=lambda task: "A") -> dict[str, str]:
    """Answer every question of an assignment and submit; returns item id -> the choice clicked (as shown)."""
    assert client.post(path + "/start").status_code == 303
    clicked = {}
    for task in tasks_of(study, label):
        shown = "A" if task["attention"] and not task["swapped"] else "B" if task["attention"] else pick(task)
        response = client.post(f"{path}/q/{task['position']}", data={"choice": shown, "justification": REASON})
        assert response.status_code == 303, response.text
        clicked[task["item_id"]] = shown
    assert client.post(path + "/review").status_code == 303
    return clicked


@pytest.fixture
def study(tmp_path: Path) -> Path:
    return make_study(tmp_path)


@pytest.fixture
def client(study: Path) -> TestClient:
    return TestClient(make_app(study), follow_redirects=False)


def test_majority_labels_report_ties_and_short_votes_never_guessing() -> None:
    rows = [("p1", "i1", c) for c in "AAAB"] + [("p1", "i2", c) for c in "AABB"] + [("p1", "i3", c) for c in "AA"]
    frame = pd.DataFrame(rows, columns=["persona_id", "item_id", "choice"])
    labels, unresolved = majority_labels(frame, threshold=3)
    assert labels[["item_id", "choice", "votes_a", "votes_b"]].values.tolist() == [["i1", "A", 3, 1]]
    assert dict(zip(unresolved["item_id"], unresolved["reason"], strict=True)) == {
        "i2": "tie",
        "i3": "below threshold",
    }
    labels, _ = majority_labels(frame, threshold=2)
    assert dict(zip(labels["item_id"], labels["choice"], strict=True)) == {"i1": "A", "i3": "A"}


def test_persona_card_groups_every_attribute_once_and_skips_unknowns() -> None:
    assert sorted(name for _, names in GROUPS for name in names) == sorted(ATTRIBUTES)
    card = persona_card({"attributes": {"age": "44", "religion": "Catholic", "sex": None}, "profile": {"fears": "x"}})
    assert card == [
        ("Who they are", [("age", "44")]),
        ("Beliefs", [("religion", "Catholic")]),
        ("More about them", [("fears", "x")]),
    ]


def test_plan_is_balanced_seeded_and_as_the_paper_designs(tmp_path: Path) -> None:
    design = StudyDesign(items=str(questions_file(tmp_path / "q.jsonl", 14)), personas="draw:acs12", n_personas=3)
    plan = plan_study(design, read_source(design))
    assert len(plan.assignments) == 12 and Counter(a.persona_id for a in plan.assignments) == dict.fromkeys(
        [p.id for p in plan.personas], 4
    )
    for assignment in plan.assignments:
        questions = [t.item for t in assignment.tasks if not t.item.attention]
        checks = [i for i, t in enumerate(assignment.tasks) if t.item.attention]
        assert len(questions) == 10 and len(checks) == 1 and checks[0] > 0  # never the first page
        same_persona = [a for a in plan.assignments if a.persona_id == assignment.persona_id]
        assert all(
            {t.item.id for t in a.tasks if not t.item.attention} == {q.id for q in questions} for a in same_persona
        )
    orders = [tuple((t.item.id, t.swapped) for t in a.tasks) for a in plan.assignments]
    assert len(set(orders)) == len(orders)  # every annotator has an order of their own
    swapped = [t.swapped for a in plan.assignments for t in a.tasks]
    assert 0.3 < sum(swapped) / len(swapped) < 0.7
    assert plan_study(design, read_source(design)) == plan
    other = plan_study(design.model_copy(update={"seed": 1}), read_source(design))
    assert [t.item.id for t in other.assignments[0].tasks] != [t.item.id for t in plan.assignments[0].tasks]


def test_a_pairs_run_gives_each_persona_its_own_pairs_in_drawn_orientation(tmp_path: Path) -> None:
    personas = make_study(tmp_path / "base") / "personas.jsonl"
    run = tmp_path / "pairs-run"
    run.mkdir()
    (run / "personas.jsonl").write_text(personas.read_text())
    rows = [
        {"persona_id": p.id, "prompt_id": f"pr{i}", "prompt": f"Prompt {i}?", "chosen": f"chosen {p.id} {i}"}
        | {"rejected": f"rejected {p.id} {i}"}
        for p in read_personas(personas)
        for i in range(11)
    ]
    rows.append({"persona_id": rows[0]["persona_id"], "prompt_id": "broken", "prompt": "?", "chosen": None})
    (run / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    study = create_study(StudyDesign(items=str(run), n_personas=2, annotators=1, majority=1), tmp_path / "s")
    items = [json.loads(line) for line in (study.folder / "items.jsonl").read_text().splitlines()]
    assert len(items) == 20 and all("broken" not in item["id"] for item in items)
    for item in items:
        persona_id, prompt = item["id"].split("/")
        side = "answer_a" if item["chosen"] == "A" else "answer_b"
        assert item[side] == f"chosen {persona_id} {prompt[2:]}"
    assert {item["chosen"] for item in items} == {"A", "B"}


def test_a_csv_of_each_personas_own_questions_is_a_source(tmp_path: Path) -> None:
    personas = make_study(tmp_path / "base") / "personas.jsonl"
    ids = [p.id for p in read_personas(personas)]
    rows = [
        {"persona_id": pid, "id": n, "question": f"Q{n} for {pid}?", "answer_a": "yes, a", "answer_b": "no, b"}
        for pid in ids
        for n in range(10)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "own.csv", index=False)
    design = StudyDesign(
        items=str(tmp_path / "own.csv"), personas=str(personas), n_personas=2, annotators=1, majority=1
    )
    plan = create_study(design, tmp_path / "s").plan
    for assignment in plan.assignments:
        asked = [t.item for t in assignment.tasks if not t.item.attention]
        assert len(asked) == 10
        assert all(i.id.startswith(f"{assignment.persona_id}/") and assignment.persona_id in i.question for i in asked)


def test_bad_sources_are_named_and_write_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "Q?", "answer_a": "yes"}) + "\n")
    with pytest.raises(InputError, match=r"bad.jsonl: record 1: answer_b is missing"):
        create_study(StudyDesign(items=str(bad), personas="draw:acs12"), tmp_path / "s1")
    few = questions_file(tmp_path / "few.jsonl", 6)
    with pytest.raises(InputError, match="6 questions, fewer than --questions 10"):
        create_study(StudyDesign(items=str(few), personas="draw:acs12"), tmp_path / "s2")
    assert not (tmp_path / "s1").exists() and not (tmp_path / "s2").exists()
    with pytest.raises(ValueError, match="majority 5 exceeds annotators per persona 4"):
        StudyDesign(items=str(few), majority=5)
    with pytest.raises(ValueError, match="more checks per annotator than the 5 there are"):
        StudyDesign(items=str(few), questions=20, attention=0.5)
    study = make_study(tmp_path / "ok")
    before = (study / "study.db").read_bytes()
    with pytest.raises(InputError, match="a study already exists here"):
        create_study(StudyDesign(items=str(tmp_path / "ok" / "questions.jsonl"), personas="draw:acs12"), study)
    assert (study / "study.db").read_bytes() == before


def test_an_annotator_goes_from_instructions_to_completion_code(client: TestClient, study: Path) -> None:
    link = links(study)[0]
    first = client.get(link["path"])
    assert first.status_code == 200 and "Pick the answer this person would prefer" in first.text
    assert client.get(link["path"] + "/q/1").headers["location"] == link["path"]  # not started: instructions
    clicked = complete(client, link["path"], study, link["annotator"])
    assert len(clicked) == 11
    done = client.get(link["path"])
    code = re.search(r'id="completion-code">([^<]+)<', done.text).group(1)
    assert code == Store(study).assignments()[0]["completion_code"]
    assert client.post(link["path"] + "/review").status_code == 303  # a second submit changes nothing
    assert Store(study).assignments()[0]["submitted_at"] is not None


def test_pages_show_progress_order_and_resume(client: TestClient, study: Path) -> None:
    link = links(study)[0]
    tasks = tasks_of(study, link["annotator"])
    client.post(link["path"] + "/start")
    page = client.get(link["path"] + "/q/1").text
    items = [json.loads(line) for line in (study / "items.jsonl").read_text().splitlines()]
    first = next(i for i in items if i["id"] == tasks[0]["item_id"])  # the first page is never a check
    left, right = (
        (first["answer_b"], first["answer_a"]) if tasks[0]["swapped"] else (first["answer_a"], first["answer_b"])
    )
    assert "Question 1 of 11" in page and page.index(left) < page.index(right)
    client.post(link["path"] + "/q/1", data={"choice": "B", "justification": REASON})
    client.post(link["path"] + "/q/2", data={"choice": "A", "justification": REASON})
    assert client.get(link["path"]).headers["location"] == link["path"] + "/q/3"  # a reload resumes
    assert client.get(link["path"] + "/q/7").headers["location"] == link["path"] + "/q/3"  # no skipping ahead
    back = client.get(link["path"] + "/q/1").text
    assert 'value="B" required checked' in back and REASON in back and "Forward" in back


def test_double_submit_and_revision_are_one_answer(client: TestClient, study: Path) -> None:
    link = links(study)[0]
    client.post(link["path"] + "/start")
    for _ in range(3):
        assert client.post(link["path"] + "/q/1", data={"choice": "A", "justification": REASON}).status_code == 303
    rows = answer_rows(study)
    assert len(rows) == 1 and rows[0]["revisions"] == 0
    client.post(link["path"] + "/q/1", data={"choice": "B", "justification": REASON + " Really."})
    rows = answer_rows(study)
    assert len(rows) == 1 and rows[0]["revisions"] == 1 and rows[0]["shown_choice"] == "B"


def test_refused_requests_store_nothing(client: TestClient, study: Path) -> None:
    mine, other = links(study)[0], links(study)[1]
    client.post(mine["path"] + "/start")
    attempts = [
        client.post(mine["path"] + "/q/1", data={"justification": REASON}),  # no choice
        client.post(mine["path"] + "/q/1", data={"choice": "C", "justification": REASON}),
        client.post(mine["path"] + "/q/1", data={"choice": "A"}),  # no justification
        client.post(mine["path"] + "/q/1", data={"choice": "A", "justification": "   too short   "}),
        client.post(mine["path"] + "/q/1", data={"choice": "A", "justification": "x" * 2001}),
        client.post(mine["path"] + "/q/1", content=b"choice=A&justification=" + b"x" * (MAX_BODY + 1)),
        client.post(mine["path"] + "/q/99", data={"choice": "A", "justification": REASON}),
        client.post(mine["path"] + "/q/0", data={"choice": "A", "justification": REASON}),
        client.post(mine["path"] + "/q/5", data={"choice": "A", "justification": REASON}),  # ahead of the open one
        client.post("/a/" + "A" * 22 + "/q/1", data={"choice": "A", "justification": REASON}),  # a guessed token
        client.post("/a/<script>/q/1", data={"choice": "A", "justification": REASON}),
    ]
    assert [r.status_code for r in attempts] == [422, 422, 422, 422, 422, 413, 404, 404, 303, 404, 404]
    assert "Pick answer A or answer B" in attempts[0].text and "at least 20 characters" in attempts[3].text
    assert answer_rows(study) == []
    # another annotator's token opens only that annotator's own assignment, never mine
    assert client.get(other["path"]).status_code == 200
    assert Store(study).assignments()[0]["started_at"] is not None and answer_rows(study) == []


def test_script_in_justification_and_persona_is_stored_as_text_and_shown_escaped(tmp_path: Path) -> None:
    base = make_study(tmp_path / "base")
    records = [json.loads(line) for line in (base / "personas.jsonl").read_text().splitlines()]
    records[0]["attributes"]["detailed job description"] = "<script>alert('persona')</script>"
    records[1]["attributes"]["detailed job description"] = "<script>alert('persona')</script>"
    personas = tmp_path / "personas.jsonl"
    personas.write_text("".join(json.dumps(r) + "\n" for r in records))
    study = create_study(
        StudyDesign(items=str(tmp_path / "base" / "questions.jsonl"), personas=str(personas), n_personas=2),
        tmp_path / "s",
    ).folder
    client = TestClient(make_app(study), follow_redirects=False)
    link = links(study)[0]
    client.post(link["path"] + "/start")
    attack = "<script>document.title='owned'</script><img src=x onerror=alert(1)> is why"
    assert client.post(link["path"] + "/q/1", data={"choice": "A", "justification": attack}).status_code == 303
    assert answer_rows(study)[0]["justification"] == attack
    page = client.get(link["path"] + "/q/1")
    assert "<script>document" not in page.text and "&lt;script&gt;document.title=" in page.text
    assert "<img src=x" not in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(&#39;persona&#39;)" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "same-origin"  # tokens never go to another site
    admin = client.get(f"/admin/{Store(study).meta('admin_token')}")
    assert admin.status_code == 200 and "<script>" not in admin.text


def test_admin_page_needs_its_token_and_reports_status(client: TestClient, study: Path) -> None:
    token = Store(study).meta("admin_token")
    assert client.get("/admin/" + "x" * len(token)).status_code == 404
    assert client.get("/admin/" + links(study)[0]["path"].split("/")[-1]).status_code == 404
    link = links(study)[0]
    complete(client, link["path"], study, link["annotator"], pick=lambda task: "B")
    page = client.get(f"/admin/{token}")
    assert page.status_code == 200
    assert re.search(
        rf"<td>{link['annotator']}</td>.*?<td>submitted</td>\s*<td>11 of 11</td><td>0 of 1</td>", page.text, re.S
    )
    assert "1 of 2" in page.text  # its persona: one of two annotators submitted


def test_prolific_entry_hands_out_balanced_assignments_once_per_participant(tmp_path: Path) -> None:
    study = make_study(tmp_path, entry="prolific", completion_code="C0DE42")
    assert not (study / "links.csv").exists()
    client = TestClient(make_app(study), follow_redirects=False)
    tokens = [client.get(f"/start?PROLIFIC_PID=pid{n}").headers["location"] for n in range(4)]
    assert len(set(tokens)) == 4
    assert client.get("/start?PROLIFIC_PID=pid1").headers["location"] == tokens[1]
    rows = Store(study).assignments()
    assert Counter(r["persona_id"] for r in rows[:2]) == Counter({rows[0]["persona_id"]: 1, rows[1]["persona_id"]: 1})
    assert client.get("/start?PROLIFIC_PID=pid9").status_code == 410  # full
    assert client.get("/start?PROLIFIC_PID=<x>").status_code == 400
    complete(client, tokens[0], study, rows[0]["label"])
    assert "C0DE42" in client.get(tokens[0]).text and "app.prolific.com" in client.get(tokens[0]).text


def test_export_is_in_original_orientation_and_agreement_reads_it(
    client: TestClient, study: Path, tmp_path: Path
) -> None:
    clicked = {}
    for link in links(study):
        # every annotator clicks the answer shown on the left; the export must undo each one's own order
        clicked[link["annotator"]] = complete(client, link["path"], study, link["annotator"], pick=lambda t: "A")
    result = export_study(study)
    frame = pd.read_csv(result.folder / "annotations.csv", dtype=str, keep_default_na=False)
    assert len(frame) == 4 * 10
    for row in frame.itertuples():
        task = next(t for t in tasks_of(study, row.annotator) if t["item_id"] == row.item_id)
        assert row.shown_choice == clicked[row.annotator][row.item_id]
        assert row.choice == ("B" if task["swapped"] else "A") and row.shown_first == row.choice
        assert row.justification == REASON
    assert set(frame["choice"]) == {"A", "B"}
    majority = pd.read_csv(result.folder / "majority.csv", dtype=str)
    unresolved = pd.read_csv(result.folder / "unresolved.csv", dtype=str)
    assert len(majority) + len(unresolved) == frame.groupby(["persona_id", "item_id"]).ngroups
    for row in majority.itertuples():
        votes = frame[(frame.persona_id == row.persona_id) & (frame.item_id == row.item_id)]["choice"]
        assert (votes == row.choice).all()  # majority 2 of 2: both agreed
    assert set(unresolved["reason"]) <= {"tie"}
    annotations = load_annotations([result.folder / "annotations.csv", result.folder / "majority.csv"])
    kappas = write_agreement(annotations, ["study"], tmp_path / "agreement")
    assert "human-majority" in kappas.matrix.index and (tmp_path / "agreement" / "kappa_matrix.png").exists()


def test_export_leaves_out_failed_attention_and_unsubmitted_unless_asked(client: TestClient, study: Path) -> None:
    first, second, third = links(study)[:3]
    complete(client, first["path"], study, first["annotator"])
    client.post(second["path"] + "/start")
    for task in tasks_of(study, second["annotator"]):
        wrong = ("B" if not task["swapped"] else "A") if task["attention"] else "A"
        client.post(f"{second['path']}/q/{task['position']}", data={"choice": wrong, "justification": REASON})
    client.post(second["path"] + "/review")
    client.post(third["path"] + "/start")
    client.post(third["path"] + "/q/1", data={"choice": "A", "justification": REASON})
    default = export_study(study)
    assert set(default.annotations["annotator"]) == {first["annotator"]}
    attention = pd.read_csv(default.folder / "attention.csv")
    assert dict(zip(attention["annotator"], attention["passed"], strict=True)) == {
        first["annotator"]: True,
        second["annotator"]: False,
    }
    kept = export_study(study, keep_failed_attention=True, include_unsubmitted=True)
    assert Counter(kept.annotations["annotator"]) == {
        first["annotator"]: 10,
        second["annotator"]: 10,
        third["annotator"]: 1,
    }
    assert "1 annotators failed an attention check" in (kept.folder / "export.md").read_text()


def test_no_model_key_reaches_the_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-planted-study-key-123")
    study = make_study(tmp_path)
    client = TestClient(make_app(study), follow_redirects=False)
    link = links(study)[0]
    pages = [client.get(link["path"]).text, client.get(f"/admin/{Store(study).meta('admin_token')}").text]
    complete(client, link["path"], study, link["annotator"])
    export_study(study)
    files = [p.read_bytes() for p in study.rglob("*") if p.is_file()]
    assert files and not any(b"sk-planted" in f for f in files) and not any("sk-planted" in p for p in pages)


def test_cli_creates_and_exports_and_names_bad_input(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from persona.cli import app

    runner = CliRunner()
    items = questions_file(tmp_path / "q.jsonl")
    args = ["annotate", "create", "--items", str(items), "--personas", "draw:acs12", "--n-personas", "3"]
    made = runner.invoke(app, [*args, "--questions", "5", "--attention", "0.2", "--out", str(tmp_path / "s")])
    assert made.exit_code == 0, made.output
    assert "3 personas x 4 annotators, 5 questions + 1 attention check each" in " ".join(made.output.split())
    assert len(links(tmp_path / "s")) == 12
    assert {(tmp_path / "s" / name).stat().st_mode & 0o777 for name in ("links.csv", "study.db")} == {0o600}
    wrong = runner.invoke(app, [*args, "--majority", "5", "--out", str(tmp_path / "t")])
    assert wrong.exit_code == 2 and "majority 5 exceeds annotators per persona 4" in wrong.output
    assert not (tmp_path / "t").exists()
    exported = runner.invoke(app, ["annotate", "export", str(tmp_path / "s"), "--out", str(tmp_path / "e")])
    assert exported.exit_code == 0, exported.output
    assert (
        "0 answers" in " ".join(exported.output.split())
        and "12 assignments: 0 submitted" in (tmp_path / "e" / "export.md").read_text()
    )
