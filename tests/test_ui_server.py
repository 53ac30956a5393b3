"""The import page over plain HTTP: the door (secret, cookie, host, CSRF, upload limit), the token's
safety, and the whole flow (connect, file, mapping fixed on the page, check, import, results, rollback,
stop and resume), against a real server on 127.0.0.1 and real sandboxes."""
from __future__ import annotations

import csv
import io
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import yaml

from importer.sandbox import Sandbox
from importer.ui import PageServer
from tests.helpers import TOKEN
from tests.ui_support import (
    REPO,
    SAMPLE_CSV,
    SAMPLE_SCHEMA,
    SAMPLE_XLSX,
    TYPO_EMAIL,
    TYPO_FIX,
    TYPO_ROW,
    XLSX_TYPE,
    Visitor,
    csv_rows,
    numbers,
    sample_with_a_typo,
    text_of,
    workbook_rows,
)


def fixed_country(v: Visitor) -> list[list[str]]:
    """The mapping form with the typo's country ('Hollnd', see sample_with_a_typo) replaced by NL, as a person
    does: one more step after the draft's transforms of the Country line."""
    fields = v.mapping_fields()
    line = v.line_of(fields, "Country")
    transform = dict(fields)[line + "transform"]
    return v.changed(fields, line + "transform", transform + ", " + TYPO_FIX)


# -- the door ----------------------------------------------------------------------------------
def test_the_one_time_secret_becomes_a_session_cookie(page):
    stranger = Visitor(page)
    refused = stranger.get("/connect")
    assert refused.status_code == 403 and "link the program printed" in text_of(refused.text)
    wrong = stranger.get(page.login_url.replace(page.secret, page.secret[:-2] + "xx"), allow_redirects=False)
    assert wrong.status_code == 403

    person = Visitor(page)
    first = person.get(page.login_url, allow_redirects=False)
    assert first.status_code == 302
    cookie = first.headers["Set-Cookie"]
    assert f"copernica_import_{page.port}=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert person.get("/connect").status_code == 200

    # the same link does not open the page a second time (a copied or logged link is worthless)
    again = Visitor(page).get(page.login_url, allow_redirects=False)
    assert again.status_code == 403 and "used already" in text_of(again.text)
    assert person.get("/connect").status_code == 200


def test_the_page_listens_on_loopback_only_and_answers_only_to_its_own_name(visitor, page):
    assert page._server.server_address[0] == "127.0.0.1"
    assert page.base_url.startswith("http://127.0.0.1:")
    rebinding = visitor.get("/connect", headers={"Host": f"attacker.example:{page.port}"})
    assert rebinding.status_code == 400 and "own address" in text_of(rebinding.text)
    by_name = visitor.get("/connect", headers={"Host": f"localhost:{page.port}"})   # the door opens; the
    assert by_name.status_code == 403 and "link the program printed" in text_of(by_name.text)  # cookie is 127.0.0.1's


def test_forms_refuse_cross_site_requests(visitor, page):
    no_token = visitor.post("/connect", {"where": "sandbox"}, csrf=False, allow_redirects=False)
    assert no_token.status_code == 400 and "did not come from this page" in text_of(no_token.text)
    wrong_token = visitor.post("/connect", {"where": "sandbox", "csrf_token": "forged"}, allow_redirects=False)
    assert wrong_token.status_code == 400
    other_site = visitor.post("/connect", {"where": "sandbox"}, origin="https://attacker.example",
                              allow_redirects=False)
    assert other_site.status_code == 403 and "another site" in text_of(other_site.text)
    opaque = visitor.post("/connect", {"where": "sandbox"}, origin="null", allow_redirects=False)
    assert opaque.status_code == 403
    referer = visitor.post("/connect", {"where": "sandbox"}, origin=None, allow_redirects=False,
                           headers={"Referer": "https://attacker.example/form.html"})
    assert referer.status_code == 403
    assert page.workspace.destination is None          # none of them did anything
    ok = visitor.post("/connect", {"where": "sandbox"}, allow_redirects=False)
    assert ok.status_code == 302 and page.workspace.destination is not None
    # without the session cookie even a good token is refused
    assert Visitor(page).post("/disconnect", {"csrf_token": visitor.token}, allow_redirects=False).status_code == 403


def test_uploads_are_size_limited_and_kept_in_a_private_folder(tmp_path):
    with PageServer(max_upload_mb=0.05) as small:        # 51 KB
        v = Visitor(small)
        v.login()
        v.connect_sandbox()
        big = tmp_path / "big.csv"
        big.write_text("Email\n" + "".join(f"person{i}@example.com\n" for i in range(4000)), encoding="utf-8")
        refused = v.upload(big)
        assert refused.status_code == 413 and "larger than this page accepts (0.05 MB)" in text_of(refused.text)
        assert small.workspace.upload is None
        assert not [p for p in (small.folder / "uploads").rglob("*") if p.name == "big.csv"]

        fine = v.upload(SAMPLE_CSV)
        assert fine.status_code == 200
        stored = small.workspace.upload.path
        assert stored.is_relative_to(small.folder) and stored.read_bytes() == SAMPLE_CSV.read_bytes()
        assert stat.S_IMODE(small.folder.stat().st_mode) == 0o700
        folder = small.folder
    assert not folder.exists()       # a sandbox-only session leaves nothing behind


# -- the whole flow -------------------------------------------------------------------------------
def test_the_whole_flow_in_the_sandbox(visitor, page, tmp_path):
    contacts = sample_with_a_typo(tmp_path)
    visitor.connect_sandbox()
    found = visitor.upload(contacts)
    assert 'id="found-encoding">utf-8<' in found.text and 'id="found-delimiter">,<' in found.text
    assert 'id="found-header-row">row 1<' in found.text and "Chloe.Meijer1@Mail.Example.Com" in found.text

    # the init draft, checked at once: it cannot know the typo, so 'Hollnd' is not a country choice
    draft = visitor.mapping_fields()
    country = visitor.line_of(draft, "Country")
    assert dict(draft)[country + "transform"] == "trim"
    before = visitor.live(draft)
    assert 'id="valid-count">189<' in before["status"] and 'id="invalid-count">6<' in before["status"]
    assert "&#39;Hollnd&#39; is not a choice" in before["status"]
    assert "&#39;Hollnd&#39; is not a choice" in before["lines"][country[1:-1]]
    assert "OK" not in before["lines"][country[1:-1]]
    after = visitor.live(fixed_country(visitor))
    assert re.search(r'id="valid-count">190<', after["status"]) and 'id="invalid-count">5<' in after["status"]
    assert "Hollnd" not in after["status"]
    assert "OK" in after["lines"][country[1:-1]]

    # the saved mapping is the YAML the CLI reads, with the same verdict
    saved = visitor.get("/mapping.yaml")
    assert saved.headers["Content-Disposition"].startswith("attachment") and "contacts.yaml" in \
        saved.headers["Content-Disposition"]
    mapping = tmp_path / "contacts.yaml"
    mapping.write_bytes(saved.content)
    saved_country = yaml.safe_load(saved.text)["fields"]["country"]
    assert saved_country["transform"] == ["trim", {"replace": {"Hollnd": "NL"}}] and saved_country["fix_case"] is True
    cli = subprocess.run([sys.executable, "-m", "importer", "check", str(contacts), "--mapping", str(mapping),
                          "--schema", str(SAMPLE_SCHEMA)], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert re.search(r"would send\s+190", cli.stdout) and re.search(r"invalid\s+5", cli.stdout), cli.stdout

    # check: reasons by code with counts, the rows and their cells
    check = visitor.post("/mapping", fixed_country(visitor) + [["action", "next"]])
    assert check.url.endswith("/check")
    assert numbers(check.text, "check") == {"valid": 190, "invalid": 5, "skipped": 5, "rows": 200}
    assert 'data-code="invalid_email"' in check.text and 'data-code="duplicate"' in check.text
    assert 'data-code="not_a_choice"' not in check.text         # fixed on the page
    email_group = check.text.split('data-code="invalid_email"')[1].split("</details>")[0]
    assert '<th scope="row">12</th>' in email_group and 'class="bad">jan@@example<' in email_group
    report = visitor.get("/download/check.csv")
    lines = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert len(lines) == 200 and sum(line["status"] == "valid" for line in lines) == 190

    # import: the confirmation names database, host and rows; then the results
    review = visitor.post("/import", {"mode": "create"})
    sandbox = page.workspace.destination.sandbox
    assert (f"Import 200 rows from contacts.csv into database 1 (Contacts) at 127.0.0.1:{sandbox.port}"
            in text_of(review.text))
    status = visitor.import_now()
    assert status["state"] == "finished" and status["counts"] == {"created": 190, "invalid": 5, "skipped": 5}
    results = visitor.get("/results")
    assert numbers(results.text, "result")["created"] == 190 and 'id="stored">190<' in results.text
    download = visitor.get("/download/results.csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    created = [r for r in rows if r["status"] == "created"]
    assert len(rows) == 200 and len(created) == 190 and all(r["profile_id"].isdigit() for r in created)
    assert {int(r["profile_id"]) for r in created} == {p["ID"] for p in sandbox.profiles(1)}
    fixed_row = next(r for r in rows if r["row"] == str(TYPO_ROW))
    assert fixed_row["status"] == "created"
    assert [p["fields"]["country"] for p in sandbox.profiles(1) if p["fields"]["email"] == TYPO_EMAIL] == ["NL"]
    report_page = visitor.get("/report")
    assert report_page.status_code == 200 and "Copernica import report" in report_page.text
    assert "unsafe-inline" in report_page.headers["Content-Security-Policy"]

    # rollback, with its own confirmation
    plan = visitor.get("/rollback")
    assert "Delete 190 profiles that this import created from database 1 (Contacts)" in text_of(plan.text)
    assert len(sandbox.profiles(1)) == 190           # nothing deleted by looking
    done = visitor.post("/rollback", {})
    assert "Deleted 190 profiles, 0 failed." in text_of(done.text) and 'id="stored">0<' in done.text
    record = visitor.get("/download/rollback.csv")
    assert record.status_code == 200 and record.text.count("deleted") == 190
    assert sandbox.profiles(1) == []

    # the results as a workbook, after the rollback too: the same lines as the CSV
    workbook = results_workbook(visitor)
    assert workbook == csv_rows(visitor.get("/download/results.csv").content) and len(workbook) == 200
    assert sum(line["status"] == "created" for line in workbook) == 190
    assert next(line for line in workbook if line["row"] == str(TYPO_ROW))["Country"] == "Hollnd"


def results_workbook(visitor: Visitor, name: str = "contacts.results.xlsx") -> list[dict[str, str]]:
    """The results page's .xlsx download, opened with openpyxl."""
    response = visitor.get("/download/results.xlsx")
    assert response.status_code == 200 and response.headers["Content-Type"] == XLSX_TYPE
    assert response.headers["Content-Disposition"].startswith("attachment") and name in \
        response.headers["Content-Disposition"]
    return workbook_rows(response.content)


def test_stop_is_resumable_and_resume_sends_no_row_twice(visitor, page, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("Email,Name\n" + "".join(f"p{i}@example.com,Person {i}\n" for i in range(600)),
                      encoding="utf-8")
    visitor.connect_sandbox()
    sandbox = page.workspace.destination.sandbox
    sandbox.set_faults(latency_ms=40)
    visitor.upload(people)
    fields = visitor.mapping_fields()
    assert 'id="valid-count">600<' in visitor.live(fields)["status"]
    review = visitor.post("/import", {"mode": "create"})
    database = re.search(r'name="database" value="(\d+)"', review.text).group(1)
    host = re.search(r'name="host" value="([^"]+)"', review.text).group(1)
    visitor.post("/import/start", {"mode": "create", "database": database, "host": host})
    deadline = time.monotonic() + 30
    while visitor.get("/import/status").json()["done"] < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped = visitor.post("/import/stop", {}, headers={"X-Requested-With": "fetch"})
    assert stopped.json() == {"stopping": True}
    status = visitor.wait_for_import()
    assert status["state"] == "stopped" and 50 <= status["done"] < 600
    results = visitor.get("/results")
    assert "stopped before the end" in text_of(results.text) and 'id="resume"' in results.text
    assert 0 < len(sandbox.profiles(1)) < 600
    assert 'href="/download/results.xlsx"' in results.text
    so_far = results_workbook(visitor, "people.results.xlsx")
    assert so_far == csv_rows(visitor.get("/download/results.csv").content)
    assert len([line for line in so_far if line["status"] == "created"]) == len(sandbox.profiles(1))

    sandbox.set_faults(latency_ms=0)
    visitor.post("/import/resume", {})
    status = visitor.wait_for_import()
    assert status["state"] == "finished"
    emails = [p["fields"]["email"] for p in sandbox.profiles(1)]
    assert len(emails) == 600 and len(set(emails)) == 600      # every person once
    rows = list(csv.DictReader(io.StringIO(visitor.get("/download/results.csv").content.decode("utf-8-sig"))))
    assert len(rows) == 600 and {r["status"] for r in rows} == {"created"}
    workbook = results_workbook(visitor, "people.results.xlsx")       # made again from the resumed run's CSV
    assert workbook == csv_rows(visitor.get("/download/results.csv").content) and len(workbook) == 600
    assert {line["profile_id"] for line in workbook} == {str(p["ID"]) for p in sandbox.profiles(1)}


def test_progress_is_pushed_as_server_sent_events(visitor, page, tmp_path):
    visitor.connect_sandbox()
    page.workspace.destination.sandbox.set_faults(latency_ms=30)
    visitor.upload(sample_with_a_typo(tmp_path))
    visitor.live(fixed_country(visitor))
    review = visitor.post("/import", {"mode": "create"})
    database = re.search(r'name="database" value="(\d+)"', review.text).group(1)
    host = re.search(r'name="host" value="([^"]+)"', review.text).group(1)
    visitor.post("/import/start", {"mode": "create", "database": database, "host": host})
    events = []
    with visitor.http.get(visitor.base + "/import/events", stream=True, timeout=60) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        kind = None
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "progress":
                events.append(__import__("json").loads(line[6:]))
            elif kind == "end":
                break
    assert len(events) >= 2 and events[-1]["state"] == "finished" and events[-1]["done"] == 200
    assert events[-1]["counts"]["created"] == 190 and events[-1]["total"] == 200
    running = [e for e in events if e["state"] == "running" and e["done"]]
    assert running and all(e["rate"] > 0 and e["eta"] is not None for e in running)


# -- the token ----------------------------------------------------------------------------------------
def test_the_token_is_never_in_a_page_a_log_or_a_file(tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as copernica, PageServer() as page:
        v = Visitor(page)
        v.login()
        # a wrong token first: the refusal must not repeat it either
        refused = v.post("/connect", {"where": "copernica", "api_url": copernica.api_url,
                                       "token": TOKEN + "-wrong", "api_version": "3"})
        assert "does not accept the access token" in text_of(refused.text)
        v.connect_copernica(copernica.api_url, TOKEN)
        v.upload(sample_with_a_typo(tmp_path))
        v.live(fixed_country(v))
        v.get("/mapping.yaml")
        v.post("/check", {})
        review = v.post("/import", {"mode": "create"})
        assert f"at 127.0.0.1:{copernica.port}" in text_of(review.text)
        status = v.import_now()
        assert status["counts"]["created"] == 190 and len(copernica.profiles(1)) == 190
        for path in ("/results", "/download/results.csv", "/download/results.xlsx", "/report", "/download/report.html", "/rollback",
                     "/connect", "/import/status"):
            v.get(path)
        v.post("/rollback", {})
        assert copernica.profiles(1) == []
        folder = page.folder
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert any(p.name.endswith(".journal") for p in files) and len(files) > 5
        for path in files:
            assert TOKEN.encode() not in path.read_bytes(), path
        for response in v.pages:
            assert TOKEN not in response.text and TOKEN not in str(response.headers), response.url
    out, err = capfd.readouterr()
    assert TOKEN not in out + err
    assert TOKEN not in caplog.text
    # a real import keeps its results and journal (for a later rollback or resume), never the upload
    assert (folder / "runs" / "1").exists() and not (folder / "uploads").exists()
    shutil.rmtree(folder)


def test_rehearsal_with_a_copy_of_the_databases_structure(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as copernica, PageServer() as page:
        v = Visitor(page)
        v.login()
        listed = v.post("/connect", {"where": "sandbox", "api_url": copernica.api_url, "token": TOKEN})
        assert "Contacts (ID 1)" in text_of(listed.text) and "Test database (ID 2)" in text_of(listed.text)
        v.post("/connect/database", {"database": "2"})
        dest = page.workspace.destination
        assert dest.sandbox is not None and dest.copy_from is None     # the real token is not kept
        assert [d.id for d in dest.sandbox.schema.databases] == [2]
        assert "copy of the structure of database 2 (Test database)" in dest.label
        people = tmp_path / "people.csv"
        people.write_text("Email,Name,Age,Newsletter\na@example.com,Ann,31,yes\nb@example.com,Bob,1x,no\n",
                          encoding="utf-8")
        v.upload(people)
        live = v.live(v.mapping_fields())
        assert 'id="valid-count">1<' in live["status"] and "not a whole number" in live["status"]
        v.import_now()
        assert len(dest.sandbox.profiles(2)) == 1 and copernica.profiles(2) == []    # nothing reached "Copernica"


# -- the mapping page ----------------------------------------------------------------------------------
def test_an_existing_mapping_can_be_opened_and_mistakes_are_named(visitor, page):
    visitor.connect_sandbox()
    visitor.upload(SAMPLE_XLSX)
    with open(REPO / "mappings" / "contacts.yaml", "rb") as f:
        opened = visitor.post("/mapping/open", files={"mapping": ("contacts.yaml", f)})
    assert 'id="valid-count">189<' in opened.text       # as the README's first import: 189 created, 6 invalid
    fields = visitor.mapping_fields()
    assert dict(fields)[visitor.line_of(fields, "Customer no") + "transform"] == "trim, {zfill: 6}"
    assert "source" in str(page.workspace.table.constants)

    email = visitor.line_of(fields, "E-mail address")
    typo = visitor.live(visitor.changed(fields, email + "transform", "trim, lowr"))
    assert "unknown transform &#39;lowr&#39;; did you mean &#39;lower&#39;?" in typo["status"]
    twice = visitor.changed(fields, visitor.line_of(fields, "First name") + "target", "field:email")
    assert "field &#39;email&#39; is filled by two lines" in visitor.live(twice)["status"]
    # nothing broken is saved: the YAML download says what is wrong instead
    assert visitor.get("/mapping.yaml", allow_redirects=True).url.endswith("/mapping")


def test_detection_can_be_changed(visitor, page, tmp_path):
    visitor.connect_sandbox()
    latin = tmp_path / "latin.csv"
    latin.write_bytes("E-mail;Voornaam;Plaats\nja@example.com;Jérôme;Liège\nb@example.com;Zoë;Gent\n"
                      .encode("cp1252"))
    found = visitor.upload(latin)
    assert 'id="found-delimiter">;<' in found.text and "Jérôme" in found.text
    encoding = re.search(r'id="found-encoding">([^<]+)<', found.text).group(1)
    assert encoding in ("cp1252", "windows-1252", "latin-1", "iso-8859-1")
    as_comma = visitor.post("/file/reading", {"delimiter": ",", "encoding": "", "sheet": ""})
    assert "<th scope=\"col\">E-mail;Voornaam;Plaats</th>" in as_comma.text
    as_utf8 = visitor.post("/file/reading", {"delimiter": "", "encoding": "utf-8", "sheet": ""})
    assert "cannot be read as utf-8" in text_of(as_utf8.text)
    back = visitor.post("/file/reading", {"delimiter": "", "encoding": "", "sheet": ""})
    assert "Jérôme" in back.text and page.workspace.table.lines[0].column == "E-mail"

    from openpyxl import Workbook
    book = Workbook()
    book.active.title = "Notes"
    book.active.append(["Just notes"])
    book.active.append(["nothing to import"])
    leads = book.create_sheet("Leads")
    leads.append(["Email", "Name"])
    leads.append(["c@example.com", "Cas"])
    book.save(tmp_path / "two.xlsx")
    found = visitor.upload(tmp_path / "two.xlsx")
    assert '<option value="Notes" selected>' in found.text and '<option value="Leads"' in found.text
    chosen = visitor.post("/file/reading", {"sheet": "Leads"})
    assert '<option value="Leads" selected>' in chosen.text and "c@example.com" in chosen.text


# -- the command -----------------------------------------------------------------------------------------
def test_copernica_import_ui_prints_a_one_time_address_and_stops_on_ctrl_c(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")}
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen([sys.executable, "-m", "importer", "ui", "--no-browser"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        url = next(line.strip() for line in lines if line.strip().startswith("http://127.0.0.1:"))
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/login\?secret=[\w-]{20,}", url)
        import requests
        session = requests.Session()
        assert session.get(url).status_code == 200
        assert session.get(url).status_code == 403          # once
        process.send_signal(__import__("signal").SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in err
    port = int(re.search(r":(\d+)/", url).group(1))
    with __import__("socket").socket() as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        taken.listen()
        refused = subprocess.run([sys.executable, "-m", "importer", "ui", "--no-browser", "--port", str(busy)],
                                 capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)
    assert refused.returncode == 2 and "cannot listen on port" in refused.stderr and "Traceback" not in refused.stderr
    assert port != busy
    folder = re.search(r"copernica-import-ui-\w+", url + out)
    assert folder is None or not (Path("/tmp") / folder.group(0)).exists()


def test_the_check_step_follows_the_mapping_as_it_is_now(visitor, tmp_path):
    visitor.connect_sandbox()
    visitor.upload(sample_with_a_typo(tmp_path))
    assert numbers(visitor.get("/check").text, "check")["valid"] == 189          # the draft, typo and all
    fixed = fixed_country(visitor)
    visitor.live(fixed)
    assert numbers(visitor.get("/check").text, "check")["valid"] == 190
    score = visitor.line_of(fixed, "Score")
    visitor.live(visitor.changed(fixed, score + "target", ""))       # Score ('7,5' in row 58) not imported
    assert numbers(visitor.get("/check").text, "check")["valid"] == 191


def test_stopping_the_page_mid_import_leaves_a_run_the_cli_resumes(tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("Email,Name\n" + "".join(f"p{i}@example.com,Person {i}\n" for i in range(600)),
                      encoding="utf-8")
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as copernica:
        copernica.set_faults(latency_ms=40)
        page = PageServer().start()
        try:
            v = Visitor(page)
            v.login()
            v.connect_copernica(copernica.api_url, TOKEN)
            v.upload(people)
            review = v.post("/import", {"mode": "create"})
            database = re.search(r'name="database" value="(\d+)"', review.text).group(1)
            host = re.search(r'name="host" value="([^"]+)"', review.text).group(1)
            v.post("/import/start", {"mode": "create", "database": database, "host": host})
            deadline = time.monotonic() + 30
            while v.get("/import/status").json()["done"] < 50 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            kept = page.close()               # what Ctrl-C in the terminal does
        assert kept is not None and not (page.folder / "uploads").exists()
        run = kept / "1"
        assert (run / "people.results.csv.journal").exists() and (run / "people.yaml").exists()
        assert 0 < len(copernica.profiles(1)) < 600
        copernica.set_faults(latency_ms=0)
        from tests.helpers import cli
        resumed = cli("run", str(people), "--mapping", str(run / "people.yaml"), "--results",
                      str(run / "people.results.csv"), "--resume", "--api-url", copernica.api_url, cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        emails = [p["fields"]["email"] for p in copernica.profiles(1)]
        assert len(emails) == len(set(emails)) == 600
        shutil.rmtree(page.folder)
