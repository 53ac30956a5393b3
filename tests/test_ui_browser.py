"""The import page in a real browser: Playwright driving Debian's Chromium (launched by its path;
no browser is downloaded). A marketer's whole afternoon: the sample file dropped on the page (with a typo
in one country, 'Hollnd', that the `init` draft cannot know), imported into the sandbox after fixing what the
check reports on the mapping page, stopped and resumed, the results downloaded (.csv and .xlsx), and
the import undone. Screenshots of every step go to test-artifacts/ui/ (ignored by git).

Skipped, with the reason, where Playwright or Chromium is missing; the server-side tests
(test_ui_server.py) run everywhere.
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.ui_support import REPO, TYPO_EMAIL, TYPO_FIX, TYPO_ROW, csv_rows, sample_with_a_typo, workbook_rows

CANDIDATES = [os.environ["CHROMIUM_PATH"]] if os.environ.get("CHROMIUM_PATH") else [
    "/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium") or "", shutil.which("chromium-browser") or ""]
CHROMIUM = next((p for p in CANDIDATES if p and Path(p).exists()), None)
ARTIFACTS = REPO / "test-artifacts" / "ui"
BROWSER_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-extensions",
                "--disable-sync", "--no-first-run", "--metrics-recording-only", "--mute-audio"]

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                               "(pip install '.[test]'); the server-side tests in test_ui_server.py still run")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium; "
                                ".ci/run does it); the server-side tests in test_ui_server.py still run")
expect = sync_api.expect


@pytest.fixture
def browser_page():
    from importer.ui import PageServer

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with PageServer() as server, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
            context.set_default_timeout(15_000)
            yield server, context.new_page()
        finally:
            browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_marketer_imports_the_sample_into_the_sandbox_and_undoes_it(browser_page, tmp_path):
    server, page = browser_page
    contacts = sample_with_a_typo(tmp_path)
    started = time.monotonic()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # 1. connect, with the keyboard only: the sandbox is chosen, Enter sends the form
    page.goto(server.login_url)
    shot(page, "1-connect")
    page.focus("#where-sandbox")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="1. Which database?")).to_be_visible()
    page.get_by_label("Contacts (ID 1)").check()
    page.get_by_role("button", name="Use this database").click()

    # 2. the file, dropped on the page (once its script listens for drops, as it does by the time a person drops)
    expect(page.get_by_role("heading", name="2. The file")).to_be_visible()
    page.wait_for_load_state("load")
    drop = page.evaluate_handle(
        "(text) => { const dt = new DataTransfer();"
        " dt.items.add(new File([text], 'contacts.csv', {type: 'text/csv'})); return dt; }",
        contacts.read_text(encoding="utf-8"))
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": drop})
    expect(page.locator("#preview")).to_be_visible()
    expect(page.locator("#found-delimiter")).to_have_text(",")
    expect(page.locator("#found-encoding")).to_have_text("utf-8")
    shot(page, "2-file")

    # 3. the mapping: the check at once names 'Hollnd'; the marketer fixes it on the page
    page.click("#to-mapping")
    expect(page.locator("#valid-count")).to_have_text("189")
    expect(page.locator("#invalid-count")).to_have_text("6")
    country = page.locator("tr[data-line]").filter(has=page.locator(".column-name", has_text=re.compile(r"^Country$")))
    expect(country.locator(".status")).to_contain_text("'Hollnd' is not a choice")
    expect(country.get_by_label("Transforms")).to_have_value("trim")            # the draft's
    lines = page.locator("tr[data-line]").count()
    country.get_by_label("Transforms").fill("trim, " + TYPO_FIX)
    country.get_by_label("Transforms").press("Enter")          # checks again; adds no line
    expect(page.locator("#valid-count")).to_have_text("190")
    expect(page.locator("#invalid-count")).to_have_text("5")
    assert page.locator("tr[data-line]").count() == lines
    expect(country.locator(".status")).to_have_text("OK")
    unlabelled = page.evaluate(
        "() => [...document.querySelectorAll('main input:not([type=hidden]), main select, main button')]"
        ".filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())"
        ".map(el => el.name || el.id)")
    assert unlabelled == []
    with page.expect_download() as saved:
        page.click("#download-mapping")
    assert saved.value.suggested_filename == "contacts.yaml"
    assert "replace: {Hollnd: NL}" in Path(saved.value.path()).read_text(encoding="utf-8")
    shot(page, "3-mapping")       # (after the download: a full-page screenshot can swallow the next click)

    # 4. check: reasons by kind; a click shows the rows and the cells
    page.click("#to-check")
    expect(page.locator("#check-valid")).to_have_text("190")
    expect(page.locator("#check-invalid")).to_have_text("5")
    emails = page.locator('details[data-code="invalid_email"]')
    emails.locator("summary").click()
    expect(emails.locator("td.bad").first).to_have_text("jan@@example")
    shot(page, "4-check")

    # 5. import: confirmation, live progress, Stop, Resume
    sandbox = server.workspace.destination.sandbox
    sandbox.set_faults(latency_ms=120)           # slow enough to watch and to stop
    page.click("#to-import")
    page.click("#review")
    expect(page.locator("#confirm-text")).to_contain_text(
        f"Import 200 rows from contacts.csv into database 1 (Contacts) at 127.0.0.1:{sandbox.port}")
    shot(page, "5-confirm")
    page.click("#start-import")
    expect(page.locator("#done")).not_to_have_text("0")          # pushed by server-sent events
    shot(page, "6-progress")
    page.click("#stop")
    page.wait_for_url("**/results")
    expect(page.locator("#state-title")).to_have_text("The import was stopped before the end")
    stopped_at = len(sandbox.profiles(1))
    assert 0 < stopped_at < 190
    shot(page, "7-stopped")
    sandbox.set_faults(latency_ms=0)
    page.click("#resume")
    page.wait_for_url("**/results")
    expect(page.locator("#state-title")).to_have_text("The import has finished")

    # 6. results: every row once, downloaded; then undone
    expect(page.locator("#result-created")).to_have_text("190")
    expect(page.locator("#stored")).to_have_text("190")
    with page.expect_download() as results:
        page.click("#download-results")
    with page.expect_download() as workbook:
        page.click("#download-results-xlsx")
    shot(page, "8-results")
    assert workbook.value.suggested_filename == "contacts.results.xlsx"
    assert workbook_rows(Path(workbook.value.path()).read_bytes()) == \
        csv_rows(Path(results.value.path()).read_bytes())               # the same lines, opened by openpyxl
    rows = list(csv.DictReader(io.StringIO(Path(results.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == 200 and sum(r["status"] == "created" for r in rows) == 190
    assert next(r for r in rows if r["row"] == str(TYPO_ROW))["status"] == "created"      # the fixed row
    assert [p["fields"]["country"] for p in sandbox.profiles(1) if p["fields"]["email"] == TYPO_EMAIL] == ["NL"]
    emails_stored = [p["fields"]["email"] for p in sandbox.profiles(1)]
    assert len(emails_stored) == len(set(emails_stored)) == 190

    page.click("#to-rollback")
    expect(page.locator("#rollback-text")).to_contain_text("Delete 190 profiles")
    page.click("#confirm-rollback")
    expect(page.locator("#rollback-result")).to_have_text("Deleted 190 profiles, 0 failed.")
    expect(page.locator("#stored")).to_have_text("0")
    shot(page, "9-rolled-back")
    assert sandbox.profiles(1) == []

    # nothing but this page was asked for: no fonts, scripts or styles from the internet
    assert requested and all(url.startswith(server.base_url) for url in requested), \
        [u for u in requested if not u.startswith(server.base_url)]
    assert time.monotonic() - started < 60
