"""Undo a run: delete every profile it created (never the ones it updated).

Writes its own results file (``RESULTS.rollback.csv``); running it again
continues where it stopped (rows already ``deleted`` there are skipped).
"""
from __future__ import annotations

import csv
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from importer.errors import UsageError
from importer.results import read_results

ROLLBACK_COLUMNS = ("row", "status", "profile_id", "error")
MSG_UPDATED_NOT_RESTORED = ("note: {n:,} profiles were updated by this run; a rollback does not restore "
                            "their earlier values")


def _created_ids(results: Path) -> tuple[list[tuple[int, int]], int]:
    created, updated = [], 0
    for line in read_results(results):
        if line["status"] == "created" and line["profile_id"].isdigit():
            created.append((int(line["row"]), int(line["profile_id"])))
        elif line["status"] == "updated":
            updated += 1
    return created, updated


def _already_deleted(output: Path) -> set[int]:
    if not output.exists():
        return set()
    with open(output, encoding="utf-8", newline="") as f:
        return {int(r["profile_id"]) for r in csv.DictReader(f)
                if r.get("status") == "deleted" and (r.get("profile_id") or "").isdigit()}


def rollback(results: Path, client, *, yes: bool = False, dry_run: bool = False,
             output: Path | None = None, workers: int = 8, confirm=input) -> int:
    if not results.exists():
        raise UsageError(f"results file {results} does not exist")
    created, updated = _created_ids(results)
    output = output or results.with_name(results.name.removesuffix(".csv") + ".rollback.csv")
    done = _already_deleted(output)
    todo = [(row, pid) for row, pid in created if pid not in done]
    if updated:
        print(MSG_UPDATED_NOT_RESTORED.format(n=updated), file=sys.stderr)
    if dry_run:
        for row, pid in todo:
            print(f"would delete profile {pid} (row {row})")
        print(f"{len(todo):,} profiles would be deleted ({len(done):,} deleted before).")
        return 0
    if not todo:
        print(f"Nothing to delete: {len(created):,} created, {len(done):,} already deleted.")
        return 0
    if not yes:
        if not sys.stdin or not sys.stdin.isatty():
            raise UsageError(f"rollback would delete {len(todo):,} profiles; add --yes to confirm "
                             "when not at a terminal")
        answer = confirm(f"Delete {len(todo):,} profiles created by the run in {results}? Type yes: ")
        if answer.strip().lower() != "yes":
            print("Nothing deleted.")
            return 2
    new_file = not output.exists()
    failed = 0
    with open(output, "a", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        if new_file:
            writer.writerow(ROLLBACK_COLUMNS)

        def delete(item: tuple[int, int]) -> tuple[int, int, str]:
            row, pid = item
            try:
                client.delete_profile(pid)
                return row, pid, ""
            except Exception as exc:  # noqa: BLE001 - the reason goes into the file
                if type(exc).__name__ == "InvalidTokenError":
                    raise
                return row, pid, str(exc)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for row, pid, error in pool.map(delete, todo):
                failed += bool(error)
                writer.writerow([row, "failed" if error else "deleted", pid, error])
                f.flush()
    print(f"Deleted {len(todo) - failed:,} profiles, {failed:,} failed. Record: {output}")
    return 1 if failed else 0
