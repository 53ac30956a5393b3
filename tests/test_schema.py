"""The database structure: `schema --database ID` writes a file that the
sandbox serves and that `check --schema` reads, the same as the API's."""
from __future__ import annotations

import requests

from importer.sandbox import Sandbox
from importer.schema import load_schema_file
from tests.helpers import SAMPLE_SCHEMA, TOKEN, cli


def test_schema_command_writes_a_file_the_sandbox_and_check_both_load(tmp_path, sandbox):
    out = tmp_path / "db1.yaml"
    result = cli("schema", "--database", "1", "--api-url", sandbox.api_url, "--output", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fetched = load_schema_file(out).database(1)
    original = load_schema_file(SAMPLE_SCHEMA).database(1)
    assert [(f.name, f.type, f.choices) for f in fetched.fields] == [(f.name, f.type, f.choices) for f in original.fields]
    assert [i.name for i in fetched.interests] == [i.name for i in original.interests]
    with Sandbox(schema=out, token=TOKEN) as again:
        assert {f["name"] for f in again_fields(again)} == {f.name for f in original.fields}


def again_fields(sb: Sandbox) -> list[dict]:
    return requests.get(f"{sb.api_url}/database/1/fields", params={"access_token": TOKEN}, timeout=5).json()["data"]
