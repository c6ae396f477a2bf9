import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from farmtrace.cli import main


@pytest.fixture
def cli(tmp_path: Path):
    env = {"FARMTRACE_INSTANCE": str(tmp_path / "instance"), "FARMTRACE_DATABASE_URL": "",
           "FARMTRACE_LOG_ORIGIN": "cli.farmtrace/log"}

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), env=env, input=input)
    return run


def test_init_org_user_event_checkpoint_and_verify_work_from_the_command_line(cli, tmp_path: Path) -> None:
    assert cli("init").exit_code == 0
    created = cli("org", "create", "enyang-asparagus", "恩阳芦笋合作社", "--family", "produce", "--county", "511903")
    assert created.exit_code == 0, created.output
    assert cli("user", "create", "lu", "--org", "enyang-asparagus", input="a-long-password\na-long-password\n"
               ).exit_code == 0
    draft = tmp_path / "create.json"
    draft.write_text(json.dumps({"type": "create", "batch": "asp-01", "data": {
        "product": "恩阳芦笋", "lot": "EY-01", "family": "produce", "quantity": "300", "unit": "KGM"}}))
    added = cli("event", "add", str(draft), "--org", "enyang-asparagus")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["created"] is True
    assert cli("checkpoint").output.startswith("cli.farmtrace/log\n")
    rotated = cli("key", "rotate", "enyang-asparagus")
    assert rotated.exit_code == 0
    verified = cli("verify")
    assert verified.exit_code == 0 and verified.output.startswith("OK:")


def test_bad_input_on_the_command_line_is_one_clear_line_and_writes_nothing(cli, tmp_path: Path) -> None:
    cli("init")
    cli("org", "create", "farm", "农场")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"type": "create", "batch": "b", "data": {"quantity": 1.5}}')
    result = cli("event", "add", str(bad), "--org", "farm")
    assert result.exit_code == 1
    assert "floating-point" in result.output and "data.quantity" in result.output
    assert cli("org", "create", "bad id!", "x").exit_code == 1
    assert cli("key", "revoke", "0000000000000000").exit_code == 1
    assert cli("verify").output.startswith("OK: 1 events")  # only the org key's key_added entry


def test_an_integer_of_5000_digits_on_the_command_line_is_one_clear_line_naming_its_field(cli, tmp_path) -> None:
    cli("init")
    cli("org", "create", "farm", "农场")
    huge = tmp_path / "huge.json"
    huge.write_text('{"type": "create", "batch": "b", "data": {"quantity": ' + "7" * 5000 + "}}")
    result = cli("event", "add", str(huge), "--org", "farm")
    assert result.exit_code == 1 and result.output.startswith("error (invalid_event) [data.quantity]: ")
    assert len(result.output.strip().splitlines()) == 1
    assert cli("verify").output.startswith("OK: 1 events")  # only the org key's key_added entry
