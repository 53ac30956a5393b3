"""The page's import and results steps: the confirmation, the import and its live progress, stop and
resume, the results with their downloads, and the rollback.

The steps themselves are ``Workspace`` methods (``importer.ui.imports``).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, request, send_file

from importer.errors import CopernicaImportError, UsageError
from importer.models import Status
from importer.ui.pages import download, page, reason_groups, step, ws
from importer.ui.table import MODES

STATUS_ORDER = [s.value for s in Status]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

bp = Blueprint("imports", __name__)


class Msg:
    """What the import and results handlers say."""
    CONFIRM_MISMATCH = "Type the number of rows to confirm the import."
    ROLLED_BACK = "Deleted {deleted:,} profiles, {failed:,} failed."


@bp.get("/import")
def import_page() -> Any:
    job = ws.current_job
    if job is not None and job.state == "running":
        return page("progress.html", job=job)
    if ws.table is None:
        return redirect("/file")
    return page("import.html", modes=MODES, mode=ws.table.on_existing, confirm=None)


@bp.post("/import")
@step("/import")
def import_review() -> Any:
    mode = request.form.get("mode", "create")
    if mode not in MODES:
        mode = "create"
    ws.require_idle()
    ws.check = None                # the confirmation counts the file as it is now
    ws.require_table().on_existing = mode
    confirm = ws.confirmation(mode)
    return page("import.html", modes=MODES, mode=mode, confirm=confirm)


@bp.post("/import/start")
@step("/import")
def import_start() -> Any:
    form = request.form
    mode = form.get("mode", "create")
    try:
        database = int(form.get("database", ""))
    except ValueError:
        raise UsageError(Msg.CONFIRM_MISMATCH) from None
    ws.start_import(mode if mode in MODES else "create", database, form.get("host", ""))
    return redirect("/import")


@bp.post("/import/stop")
def import_stop() -> Any:
    ws.stop_import()
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify({"stopping": True})
    return redirect("/import")


@bp.post("/import/resume")
@step("/results")
def import_resume() -> Any:
    ws.resume_import()
    return redirect("/import")


@bp.get("/import/status")
def import_status() -> Any:
    job = ws.current_job
    if job is None:
        abort(404)
    return jsonify(job.snapshot())


@bp.get("/import/events")
def import_events() -> Any:
    """Server-sent events: the running import's progress, twice a second, until it ends."""
    job = ws.current_job
    if job is None:
        abort(404)

    def stream():
        while True:
            snapshot = job.snapshot()
            yield f"event: progress\ndata: {json.dumps(snapshot)}\n\n"
            if snapshot["state"] != "running":
                yield "event: end\ndata: {}\n\n"
                return
            time.sleep(0.5)
    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@bp.get("/results")
def results() -> Any:
    job = ws.current_job
    if job is None:
        return redirect("/import")
    if job.state == "running":
        return redirect("/import")
    groups = reason_groups(job.collector, job.results) if job.results.exists() else []
    stored = None
    if job.sandbox and ws.destination is not None and ws.destination.sandbox is not None:
        stored = len(ws.destination.sandbox.profiles(job.database_id))
    return page("results.html", job=job, groups=groups, stored=stored, statuses=STATUS_ORDER)


@bp.get("/download/results.csv")
def results_download() -> Any:
    job = ws.current_job
    if job is None or not job.results.exists():
        abort(404)
    return download(job.results, job.results.name)


@bp.get("/download/results.xlsx")
@step("/results")
def results_workbook_download() -> Any:
    job = ws.current_job
    if job is None or not job.results.exists():
        abort(404)
    book = ws.results_workbook()
    return download(book, book.name, XLSX_TYPE)


@bp.get("/report")
def report_view() -> Any:
    job = ws.current_job
    if job is None or job.report is None or not job.report.exists():
        abort(404)
    response = send_file(job.report, mimetype="text/html")
    # the report is a self-contained page with inline styles and no scripts
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                   "img-src data:; frame-ancestors 'none'")
    return response


@bp.get("/download/report.html")
def report_download() -> Any:
    job = ws.current_job
    if job is None or job.report is None or not job.report.exists():
        abort(404)
    return download(job.report, Path(job.file_name).stem + ".report.html")


@bp.get("/download/mapping-used.yaml")
def mapping_used() -> Any:
    job = ws.current_job
    if job is None:
        abort(404)
    return download(job.mapping, job.mapping.name)


@bp.get("/rollback")
def rollback_page() -> Any:
    try:
        plan = ws.rollback_plan()
    except CopernicaImportError as exc:
        ws.say(str(exc))
        return redirect("/results")
    return page("rollback.html", plan=plan, job=ws.current_job)


@bp.post("/rollback")
@step("/results")
def rollback_post() -> Any:
    result = ws.roll_back()
    ws.say(Msg.ROLLED_BACK.format(deleted=result.deleted, failed=result.failed), "info")
    return redirect("/results")


@bp.get("/download/rollback.csv")
def rollback_download() -> Any:
    job = ws.current_job
    if job is None or job.rollback is None or not job.rollback.record.exists():
        abort(404)
    return download(job.rollback.record, job.rollback.record.name)


@bp.post("/start-over")
@step("/mapping")
def start_over() -> Any:
    ws.require_idle()
    ws.upload, ws.table, ws.live, ws.check = None, None, None, None
    return redirect("/file")
