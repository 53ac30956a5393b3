"""The page's mapping and check steps: the table (re-checked at every change), opened and downloaded
mappings, the full check and its report.

The steps themselves are ``Workspace`` methods (``importer.ui.checking``).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request

from importer.errors import CopernicaImportError
from importer.ui.checking import LIVE_ROWS
from importer.ui.pages import attachment, chosen_file, download, page, reason_groups, step, ws
from importer.ui.table import MODES, ON_INVALID, Constant, target_options

bp = Blueprint("mapping", __name__)


@bp.get("/mapping")
def mapping() -> Any:
    if ws.table is None:
        return redirect("/file")
    live = ws.live or ws.live_check()
    return page("mapping.html", live=live, options=_target_options(), modes=MODES, on_invalid=ON_INVALID,
                 live_rows=LIVE_ROWS, yaml_text=_yaml_or_none())


def _target_options() -> list:
    schema = ws.destination.schema if ws.destination is not None else None
    return target_options(schema, ws.table)


def _yaml_or_none() -> str | None:
    try:
        return ws.mapping_text()
    except CopernicaImportError:
        return None


@bp.post("/mapping")
@step("/mapping")
def mapping_post() -> Any:
    ws.require_idle()
    table = ws.require_table()
    table.update_from_form(request.form)
    action = request.form.get("action", "")
    if action.startswith("add:"):
        table.add_line(_index(action))
    elif action.startswith("remove:"):
        table.remove_line(_index(action))
    elif action == "add-constant":
        table.constants.append(Constant("", ""))
    elif action.startswith("remove-constant:"):
        index = _index(action)
        if 0 <= index < len(table.constants):
            del table.constants[index]
    ws.live_check()
    if action == "next" and ws.live is not None and ws.live.error is None:
        return redirect("/check")
    return redirect("/mapping")


@bp.post("/mapping/live")
def mapping_live() -> Any:
    """Every change on the mapping page: the table updated and checked again."""
    if ws.busy or ws.table is None:
        return jsonify({"error": "busy"}), 409
    ws.table.update_from_form(request.form)
    live = ws.live_check()
    return jsonify({
        "status": render_template("_live.html", live=live, live_rows=LIVE_ROWS, ws=ws),
        "lines": {str(i): render_template("_line_status.html", line=line, live=live)
                  for i, line in enumerate(ws.table.lines)},
        "yaml": _yaml_or_none() or "",
    })


@bp.post("/mapping/open")
@step("/mapping")
def mapping_open() -> Any:
    upload = chosen_file("mapping")
    ws.open_mapping(upload.filename, upload.save)
    ws.live_check()
    return redirect("/mapping")


@bp.get("/mapping.yaml")
@step("/mapping")
def mapping_download() -> Any:
    text = ws.mapping_text()
    return Response(text, mimetype="application/x-yaml",
                    headers={"Content-Disposition": attachment(ws.mapping_name)})


@bp.get("/check")
def check() -> Any:
    if ws.table is None:
        return redirect("/file")
    if ws.check is None:
        try:
            ws.run_check()
        except CopernicaImportError as exc:
            ws.say(str(exc))
            return redirect("/mapping")
    return page("check.html", check=ws.check, groups=reason_groups(ws.check.collector, ws.check.report))


@bp.post("/check")
@step("/mapping")
def check_post() -> Any:
    ws.run_check()
    return redirect("/check")


@bp.get("/download/check.csv")
def check_download() -> Any:
    if ws.check is None or not ws.check.report.exists():
        abort(404)
    return download(ws.check.report, ws.check.report.name)


def _index(action: str) -> int:
    try:
        return int(action.rsplit(":", 1)[1])
    except ValueError:
        return -1
