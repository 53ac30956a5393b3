"""What the package ships and promises beyond its code: type information
(py.typed), the public names, and warnings from its own modules treated as
errors by this test suite."""
from __future__ import annotations

import tomllib
import warnings

import pytest

import importer
from tests.helpers import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_py_typed_is_shipped_with_the_package():
    assert (REPO / "importer" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["importer"]
    assert "importer*" in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]


def test_every_public_name_resolves():
    for name in importer.__all__:
        assert getattr(importer, name) is not None, name
    with pytest.raises(AttributeError):
        importer.NoSuchThing  # noqa: B018


def test_a_warning_from_an_importer_module_fails_the_test():
    assert "error:::importer" in PYPROJECT["tool"]["pytest"]["ini_options"]["filterwarnings"]
    for module in ("importer", "importer.dates", "importer.sandbox.server"):
        for category in (DeprecationWarning, UserWarning):
            with pytest.raises(category):
                warnings.warn_explicit("from the importer", category, "x.py", 1, module=module)
    with warnings.catch_warnings(record=True) as seen:  # other modules' warnings are left as they are
        warnings.warn_explicit("from elsewhere", UserWarning, "x.py", 1, module="somewhere.else")
    assert [str(w.message) for w in seen] == ["from elsewhere"]


def test_a_csv_run_loads_no_module_it_does_not_need(tmp_path):
    """Start-up (issue 17): workbooks, DataFrames, JSON streams, phone rules and the
    page load their libraries only when a file or a mapping needs them."""
    import subprocess
    import sys

    code = ("import sys; import importer.cli, importer.runner, importer.batch, importer.sender, importer.client; "
            "from importer import check_file, ImportOptions; "
            f"check_file(ImportOptions(file={str(REPO / 'sample_data' / 'contacts.csv')!r}, "
            f"mapping={str(REPO / 'mappings' / 'contacts.yaml')!r})); "
            "print(sorted(m for m in ('openpyxl', 'numpy', 'pandas', 'phonenumbers', 'python_calamine', 'xlrd', "
            "'flask', 'ijson') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
