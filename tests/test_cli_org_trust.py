"""The operator's commands for labs' CMA numbers and GS1 company prefixes (`farmtrace org ...`)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from farmtrace.cli import main


@pytest.fixture
def cli(tmp_path: Path):
    env = {"FARMTRACE_INSTANCE": str(tmp_path / "instance"), "FARMTRACE_DATABASE_URL": "",
           "FARMTRACE_LOG_ORIGIN": "cli.farmtrace/log"}

    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=env)
    return run


def test_a_lab_is_created_with_its_cma_number_and_a_prefix_lets_its_owner_pack_its_gtin(cli, tmp_path) -> None:
    assert cli("init").exit_code == 0
    assert cli("org", "create", "bz-lab", "巴中检测中心", "--kind", "lab", "--cma", "242312050117").exit_code == 0
    assert cli("org", "create", "mill", "恩阳粮油", "--kind", "processor", "--family", "produce").exit_code == 0
    added = cli("org", "prefix", "add", "mill", "9521001")
    assert added.exit_code == 0 and "9521001" in added.output
    assert cli("org", "prefix", "add", "mill", "9521001").output.startswith("mill already holds")
    assert cli("org", "prefix", "list").output == "9521001\tmill\n"
    assert cli("org", "prefix", "list", "mill").output == "9521001\tmill\n"
    for name, draft in (("create", {"type": "create", "batch": "rice-1", "data": {
            "product": "南江富硒大米", "lot": "NJR-1", "family": "produce", "quantity": "500", "unit": "KGM"}}),
            ("packed", {"type": "packed", "batch": "rice-1", "data": {"gtin": "09521001005012", "units": "100"}}),
            ("sample", {"type": "sample", "batch": "rice-1", "data": {"lab": "bz-lab", "sample_id": "S-1"}})):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(draft, ensure_ascii=False), encoding="utf-8")
        added = cli("event", "add", str(path), "--org", "mill")
        assert added.exit_code == 0, (name, added.output)
    assert cli("verify").exit_code == 0


REFUSED = {  # id: (command after `init` and the orgs below, the field the one error line names)
    "a CMA number for a producer": (["org", "create", "farm2", "农场", "--cma", "242312050117"], "cma"),
    "a CMA number of the wrong length": (["org", "create", "lab2", "检测站", "--kind", "lab", "--cma", "123"], "cma"),
    "a CMA number recorded for a producer": (["org", "cma", "farm", "242312050117"], "cma"),
    "a CMA number for an unknown org": (["org", "cma", "nobody", "242312050117"], "org"),
    "a prefix of three digits": (["org", "prefix", "add", "farm", "952"], "prefix"),
    "a prefix of in-store codes": (["org", "prefix", "add", "farm", "2012345"], "prefix"),
    "a prefix inside another org's": (["org", "prefix", "add", "farm", "95210011"], "prefix"),
    "a prefix for an unknown org": (["org", "prefix", "add", "nobody", "9521002"], "org"),
    "the prefixes of an unknown org": (["org", "prefix", "list", "nobody"], "org"),
}


@pytest.mark.parametrize(("command", "field"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_bad_cma_number_or_prefix_is_one_clear_line_and_writes_nothing(cli, command, field) -> None:
    cli("init")
    cli("org", "create", "farm", "农场")
    cli("org", "create", "mill", "恩阳粮油", "--kind", "processor")
    cli("org", "prefix", "add", "mill", "9521001")
    result = cli(*command)
    assert result.exit_code == 1 and f"[{field}]" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert cli("org", "prefix", "list").output == "9521001\tmill\n"
