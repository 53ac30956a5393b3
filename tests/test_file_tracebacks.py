"""No input file may produce a traceback: every file the test suite builds
(``tests/file_builders.py``: the encoding corpus, titles, files without a
header, cut-off uploads, hostile files, lock files, workbooks with errors,
broken styles and old formats, and one of each kind the reader tests make) is
fed to ``init``, ``check`` and ``run --dry-run`` as a real subprocess. Each
either works or refuses in one ``error:`` line with exit 2."""
from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.file_builders import BUILDERS, corpus_files, reader_test_files
from tests.helpers import cli

FALLBACK_MAPPING = "fields:\n  email: Email\n"
EVERY_ROW_MAPPING = "header: none\nfields:\n  email: A\n"     # reads every row of any file
NO_TOKEN = {"COPERNICA_ACCESS_TOKEN": ""}   # a dry run without a token checks without asking an API


def _init_and_check(path: Path, folder: Path) -> list[str]:
    """init, then check with its draft (or a fallback mapping): the problems seen."""
    draft = folder / f"{path.name}.draft.yaml"
    made = cli("init", str(path), "--output", str(draft), timeout=60)
    mapping = draft if made.returncode == 0 else folder / "fallback.yaml"
    checked = cli("check", str(path), "--mapping", str(mapping), "--offline", timeout=60)
    return _problems("init", path, made) + _problems("check", path, checked)


def _problems(command: str, path: Path, result) -> list[str]:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    if "Traceback" in result.stderr or "Traceback" in result.stdout:
        return [f"{command} {path.name}: traceback\n{result.stderr[-2000:]}"]
    if result.returncode not in (0, 1, 2):
        return [f"{command} {path.name}: exit {result.returncode}\n{result.stderr[-500:]}"]
    if result.returncode == 2 and len(errors) != 1:
        return [f"{command} {path.name}: exit 2 without exactly one error line\n{result.stderr[-1000:]}"]
    if result.returncode != 2 and errors:
        return [f"{command} {path.name}: an error line without exit 2\n{result.stderr[-1000:]}"]
    return []


CHUNKS = 4   # the files are spread over four tests, so the suite's workers share them


def _built(tmp_path: Path) -> tuple[list[Path], Path]:
    files = tmp_path / "files"
    corpus = tmp_path / "corpus"
    files.mkdir()
    corpus.mkdir()
    paths = [p for p in [build(files) for build in BUILDERS.values()] + reader_test_files(files)
             if not p.name.endswith(".yaml")]
    corpus_files(corpus)
    (tmp_path / "fallback.yaml").write_text(FALLBACK_MAPPING)
    (tmp_path / "every-row.yaml").write_text(EVERY_ROW_MAPPING)
    return paths, corpus


@pytest.mark.timeout(300)   # ~28 subprocesses each
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_no_file_the_tests_build_gives_a_traceback_in_init_or_check(tmp_path, chunk):
    paths, _ = _built(tmp_path)
    assert len(paths) >= 50
    mine = paths[chunk::CHUNKS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = [problem for problems in pool.map(lambda p: _init_and_check(p, tmp_path), mine)
                 for problem in problems]
    assert found == [], "\n\n".join(found)


@pytest.mark.timeout(300)
def test_no_file_the_tests_build_gives_a_traceback_in_run_dry_run(tmp_path):
    paths, corpus = _built(tmp_path)
    found: list[str] = []
    # run --dry-run: a run of several files goes on after a refused one, so one
    # subprocess per mapping feeds it every file (the whole corpus too); each
    # file gets a name of its own (a run refuses two files with one results name)
    batch = tmp_path / "batch"
    batch.mkdir()
    for number, path in enumerate(paths + sorted(corpus.iterdir())):
        if not path.name.startswith(("~$", ".~lock.")):       # a pattern skips lock files
            shutil.copy(path, batch / f"{number:03d}-{path.name}")
    for mapping in ("fallback.yaml", "every-row.yaml"):
        ran = cli("run", str(batch / "*"), "--mapping", str(tmp_path / mapping), "--dry-run", "--settle-seconds", "0",
                  env=NO_TOKEN, cwd=tmp_path, timeout=100)
        if "Traceback" in ran.stderr or ran.returncode not in (1, 2):
            found.append(f"run --dry-run ({mapping}): exit {ran.returncode}\n{ran.stderr[-2000:]}")
        read = ran.stderr.count("Read ") + ran.stderr.count("error:") + ran.stderr.count("left for the next run")
        assert read >= len(paths) // 2, ran.stderr[-3000:]
    assert found == [], "\n\n".join(found)
