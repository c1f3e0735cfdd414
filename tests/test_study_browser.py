"""The study through its pages in a real headless Chromium, against `persona annotate serve` in its own process.

Two annotators play the same persona: instructions, eleven pages (ten questions and an attention check), the
justification rule, back and forward, a reload and a fresh tab that resume, the server killed and restarted between
two answers, review, submit, completion code. The export must equal what was clicked, in the original orientation.
Chromium is Debian's (`apt-get install chromium`, which `.ci/run` does); without it the test is skipped locally and
fails under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from study_server import Server, links, make_study

from persona.study import export_study
from persona.study.attention import CHECKS
from persona.study.store import Store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("browser tests need Chromium: apt-get install -y chromium (.ci/run does)")
    pytest.skip("no chromium on PATH (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def answer_page(page, text: str, pick: str) -> str:
    """Pick the answer whose text is ``pick`` and justify; returns the side it was shown on."""
    side = "A" if page.locator(".answer").nth(0).locator(".text").inner_text() == pick else "B"
    page.locator(f"input[name=choice][value={side}]").check()
    page.fill("#justification", text)
    page.click("button[type=submit]")
    return side


def test_two_annotators_complete_a_study_through_the_pages(tmp_path: Path) -> None:
    study = make_study(tmp_path, n_personas=1, annotators=2, majority=2)
    items = {
        json.loads(line)["question"]: json.loads(line) for line in (study / "items.jsonl").read_text().splitlines()
    }
    checks = {check.question: check for check in CHECKS}
    first, second = links(study)
    server = Server(study).start()
    clicked: dict[str, dict[str, str]] = {first["annotator"]: {}, second["annotator"]: {}}
    typed: dict[tuple[str, str], str] = {}
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for link, rule in ((first, "yes"), (second, "right")):
                who = link["annotator"]
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.set_default_timeout(15_000)
                page.goto(server.base + link["path"])
                assert "Pick the answer this person would prefer" in page.inner_text("main")
                page.click("button[type=submit]")
                position = 1
                while position <= 11:
                    assert page.inner_text(".progress .count") == f"Question {position} of 11"
                    question = page.inner_text("h2.question")
                    if position == 1:
                        # the justification rule, enforced by the server: spaces do not count
                        page.locator("input[name=choice][value=A]").check()
                        page.fill("#justification", " " * 30 + "too short")
                        page.click("button[type=submit]")
                        assert "at least 20 characters" in page.inner_text(".problem")
                    if position == 4 and who == first["annotator"]:
                        page.locator("input[name=choice][value=B]").check()
                        page.fill("#justification", "This person has lived in the town for decades and trusts it.")
                        page.screenshot(path=str(tmp_path / "question.png"), full_page=True)
                    if question in checks:
                        answer_page(page, f"{who} reads the check carefully.", checks[question].expected)
                    else:
                        item = items[question]
                        text = f"{who} thinks this person would choose so about {item['id']}."
                        pick = item["answer_a"] if rule == "yes" else page.locator(".answer .text").nth(1).inner_text()
                        side = answer_page(page, text, pick)
                        clicked[who][item["id"]], typed[(who, item["id"])] = side, text
                    position += 1
                    if position == 3 and who == first["annotator"]:
                        page.click("a.button:has-text('Back')")  # back shows the saved answer, forward returns
                        assert page.inner_text(".progress .count") == "Question 2 of 11"
                        assert page.locator("input[name=choice]:checked").count() == 1
                        assert page.input_value("#justification").startswith(who)
                        page.click("a.button:has-text('Forward')")
                    if position == 5 and who == first["annotator"]:
                        page.reload()
                        page.goto(server.base + link["path"])  # the link again resumes where they were
                        assert page.inner_text(".progress .count") == "Question 5 of 11"
                        tab = context.new_page()
                        tab.goto(server.base + link["path"])
                        assert tab.inner_text(".progress .count") == "Question 5 of 11"
                        tab.close()
                    if position == 7 and who == second["annotator"]:
                        server.kill()  # between two answers: the next one goes to a fresh server
                        server = Server(study, server.port).start()
                assert page.url.endswith("/review")
                page.click("button[type=submit]")
                code = page.inner_text("#completion-code")
                assert code == next(r for r in Store(study).assignments() if r["label"] == who)["completion_code"]
                context.close()
            admin = browser.new_page(viewport={"width": 1440, "height": 700})
            admin.goto(f"{server.base}/admin/{Store(study).meta('admin_token')}")
            assert admin.inner_text("main").count("submitted") >= 2
            admin.screenshot(path=str(tmp_path / "admin.png"), full_page=True)
            browser.close()
    finally:
        server.kill()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in ("question.png", "admin.png"):
        shutil.copyfile(tmp_path / name, SCREENSHOTS / name)

    result = export_study(study)
    frame = pd.read_csv(result.folder / "annotations.csv", dtype=str, keep_default_na=False)
    assert len(frame) == 20
    tasks = {(r["annotator"], r["item_id"]): r for r in Store(study).answers()}
    for row in frame.itertuples():
        swapped = tasks[(row.annotator, row.item_id)]["swapped"]
        original = (
            clicked[row.annotator][row.item_id]
            if not swapped
            else "AB"["BA".index(clicked[row.annotator][row.item_id])]
        )
        assert row.shown_choice == clicked[row.annotator][row.item_id] and row.choice == original
        assert row.justification == typed[(row.annotator, row.item_id)]
    assert set(frame[frame.annotator == first["annotator"]]["choice"]) == {"A"}  # always the answer_a text
    attention = pd.read_csv(result.folder / "attention.csv")
    assert len(attention) == 2 and attention["passed"].all()
    out = tmp_path / "agreement"
    compute = subprocess.run(
        [sys.executable, "-m", "persona", "agreement", "compute", str(result.folder / "annotations.csv"),
         str(result.folder / "majority.csv"), "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert compute.returncode == 0, compute.stderr
    assert (out / "kappa_matrix.png").exists() and "human-majority" in (out / "agreement.md").read_text()
