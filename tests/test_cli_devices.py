"""`farmtrace key device add|list|revoke`: the operator registers and revokes a tablet's key from the command line."""

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.cli import main
from farmtrace.ledger.events import EventBody
from farmtrace.ledger.signing import b64, key_id, public_bytes, sign_event_hash
from farmtrace.services.transaction import now_rfc3339


@pytest.fixture
def cli(tmp_path: Path):
    env = {"FARMTRACE_INSTANCE": str(tmp_path / "instance"), "FARMTRACE_DATABASE_URL": "",
           "FARMTRACE_LOG_ORIGIN": "cli.farmtrace/log"}

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), env=env, input=input)
    return run


def _signed_file(tmp_path: Path, private: Ed25519PrivateKey, body: dict) -> str:
    path = tmp_path / f"{body['id']}.json"
    path.write_text(json.dumps({"body": body, "signature": sign_event_hash(private, EventBody.from_obj(body).hash)}))
    return str(path)


def test_a_device_key_is_added_listed_used_and_revoked_from_the_command_line(cli, tmp_path: Path) -> None:
    cli("init")
    assert cli("org", "create", "enyang-asparagus", "恩阳芦笋合作社", "--family", "produce").exit_code == 0
    private = Ed25519PrivateKey.generate()
    kid = key_id(public_bytes(private))
    added = cli("key", "device", "add", "enyang-asparagus", "--public-key", b64(public_bytes(private)),
                "--label", "平板 1 号")
    assert added.exit_code == 0, added.output
    assert added.output.startswith(f"device 平板 1 号 of enyang-asparagus: key {kid}")
    listed = cli("key", "device", "list", "enyang-asparagus")
    assert listed.exit_code == 0 and listed.output.startswith(f"{kid}\t平板 1 号\t")
    assert listed.output.rstrip().endswith("\tcurrent\t-")

    body = {"v": 1, "type": "create", "batch": "asp-01", "org": "enyang-asparagus", "key": kid,
            "id": str(uuid.uuid4()), "at": now_rfc3339(), "data": {
                "product": "恩阳芦笋", "lot": "EY-01", "family": "produce", "quantity": "300", "unit": "KGM"}}
    signed = cli("event", "add", _signed_file(tmp_path, private, body), "--org", "enyang-asparagus")
    assert signed.exit_code == 0, signed.output
    head = json.loads(signed.output)["hash"]

    revoked = cli("key", "device", "revoke", "enyang-asparagus", kid, "--reason", "compromise")
    assert revoked.exit_code == 0, revoked.output
    assert f"key {kid} revoked (compromise)" in revoked.output
    assert "\tcompromise" in cli("key", "device", "list", "enyang-asparagus").output
    later = {"v": 1, "type": "observe", "batch": "asp-01", "org": "enyang-asparagus", "key": kid, "prev": head,
             "id": str(uuid.uuid4()), "at": now_rfc3339(), "data": {"step": "weighed"}}
    refused = cli("event", "add", _signed_file(tmp_path, private, later), "--org", "enyang-asparagus")
    assert refused.exit_code == 1 and "no longer valid" in refused.output
    verified = cli("verify")
    assert verified.exit_code == 0 and verified.output.startswith("OK: 4 events"), verified.output


BAD_ARGUMENTS = {  # id: (arguments after `key device`, words the one line must hold, exit status)
    "a public key that is not base64": (["add", "farm", "--public-key", "xyz", "--label", "平板"], "[public_key]", 2),
    "a public key of small order": (["add", "farm", "--public-key", b64(bytes(32)), "--label", "平板"],
                                    "small order", 2),
    "an over-long label": (["add", "farm", "--public-key", b64(public_bytes(Ed25519PrivateKey.generate())),
                            "--label", "x" * 65], "[label]", 2),
    "no label": (["add", "farm", "--public-key", "xyz"], "--label", 2),
    "an unknown reason": (["revoke", "farm", "0" * 16, "--reason", "lost"], "--reason", 2),
    "a malformed key id": (["revoke", "farm", "ABC"], "[key_id]", 2),
    "an org that does not exist": (["list", "no-such-org"], "no org no-such-org", 1),
    "a key that is no device key of the org": (["revoke", "farm", "0" * 16], "not a device key of farm", 1),
}


@pytest.mark.parametrize(("args", "words", "status"), list(BAD_ARGUMENTS.values()), ids=list(BAD_ARGUMENTS))
def test_a_bad_device_command_is_one_clear_line_and_writes_nothing(cli, args, words, status) -> None:
    cli("init")
    cli("org", "create", "farm", "农场")
    result = cli("key", "device", *args)
    assert result.exit_code == status
    assert words in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith("error (")
    assert cli("verify").output.startswith("OK: 1 events")  # only the org key's key_added entry
