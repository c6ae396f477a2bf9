"""`farmtrace org|user|token|key ...`: the operator's administration from the command line, through the
same services as the admin pages (services/admin.py); a bad argument is one line and a non-zero exit."""

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
    cli_ = run
    assert cli_("init").exit_code == 0
    assert cli_("org", "create", "enyang-asparagus", "恩阳芦笋合作社", "--family", "produce").exit_code == 0
    return run


def test_an_org_is_listed_edited_and_given_licences(cli) -> None:
    assert "enyang-asparagus\tproducer\tproduce\t0\t恩阳芦笋合作社" in cli("org", "list").output
    edited = cli("org", "edit", "enyang-asparagus", "--contact-name", "李会计", "--contact-phone", "0827-5261234",
                 "--address", "恩阳区柳林镇")
    assert edited.exit_code == 0, edited.output
    assert cli("org", "licence", "add", "enyang-asparagus", "sc", "SC10651190300012").exit_code == 0
    assert cli("org", "licence", "list", "enyang-asparagus").output == "sc\tSC10651190300012\n"
    shown = cli("org", "show", "enyang-asparagus").output
    assert "contact_phone\t0827-5261234" in shown and "address\t恩阳区柳林镇" in shown
    assert cli("org", "licence", "remove", "enyang-asparagus", "sc").exit_code == 0
    assert cli("org", "licence", "list", "enyang-asparagus").output == ""


def test_users_roles_and_keys_from_the_command_line(cli) -> None:
    made = cli("user", "create", "lu", "--org", "enyang-asparagus", "--role", "admin",
               input="a-long-password\na-long-password\n")
    assert made.exit_code == 0, made.output
    assert cli("user", "create", "wang", "--org", "enyang-asparagus", input="a-long-password\na-long-password\n"
               ).exit_code == 0
    assert cli("user", "role", "wang", "admin").output == "user wang (enyang-asparagus) is now admin\n"
    assert cli("user", "role", "wang", "producer").exit_code == 0
    last = cli("user", "role", "lu", "producer")
    assert last.exit_code == 1 and "last admin" in last.output
    assert cli("user", "list", "enyang-asparagus").output == ("lu\tenyang-asparagus\tadmin\t0\n"
                                                             "wang\tenyang-asparagus\tproducer\t0\n")
    first = cli("key", "list", "enyang-asparagus").output.split("\t")[0]
    rotated = cli("key", "rotate", "enyang-asparagus")
    second = rotated.output.split()[-1]
    revoked = cli("key", "revoke-org", "enyang-asparagus", second, "--reason", "compromise")
    assert revoked.exit_code == 0 and "now signs with key" in revoked.output
    listed = cli("key", "list", "enyang-asparagus").output.splitlines()
    assert [line.split("\t")[3].split()[0] for line in listed] == ["rotated", "compromise", "current"]
    assert listed[0].startswith(first)
    assert cli("verify").output.startswith("OK:")


BAD = {  # id: (arguments, exit status, words the one line must carry)
    "an unknown role": (("user", "role", "lu", "boss"), 2, "boss"),
    "an unknown user": (("user", "role", "nobody", "admin"), 1, "no user nobody"),
    "a regulator on a farm": (("user", "create", "reg", "--org", "enyang-asparagus", "--role", "regulator",
                               "--password", "a-long-password"), 1, "regulator org"),
    "an unknown licence kind": (("org", "licence", "add", "enyang-asparagus", "fishing", "X1"), 2, "fishing"),
    "a short SC number": (("org", "licence", "add", "enyang-asparagus", "sc", "SC1"), 1, "14 digits"),
    "an edit with nothing": (("org", "edit", "enyang-asparagus"), 2, "at least one"),
    "a phone of letters": (("org", "edit", "enyang-asparagus", "--contact-phone", "call me"), 1, "phone"),
    "an org unknown": (("org", "show", "nowhere"), 1, "no org nowhere"),
    "a key of another org": (("key", "revoke-org", "enyang-asparagus", "0000000000000000"), 1, "not a signing key"),
    "a bad reason": (("key", "revoke-org", "enyang-asparagus", "0000000000000000", "--reason", "bored"), 2, "bored"),
    "a bad uscc": (("org", "create", "x", "某", "--uscc", "123"), 1, "18"),
}


@pytest.mark.parametrize(("args", "status", "words"), list(BAD.values()), ids=list(BAD))
def test_a_bad_argument_is_one_line_a_non_zero_exit_and_writes_nothing(cli, args, status, words) -> None:
    cli("user", "create", "lu", "--org", "enyang-asparagus", "--role", "admin", "--password", "a-long-password")
    before = cli("org", "show", "enyang-asparagus").output + cli("user", "list").output + cli("org", "list").output
    result = cli(*args)
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert words in result.output
    after = cli("org", "show", "enyang-asparagus").output + cli("user", "list").output + cli("org", "list").output
    assert after == before
