"""The offline verifier: `python -m farmtrace.verify_offline BUNDLE.json [--lang zh_CN|en] [--log-key VKEY] [--json]`.

Uses only farmtrace.ledger.bundle (no database, no server). Exit status: 0 when everything in the
bundle verifies, 1 when something does not, 2 for a bad argument or an unreadable file.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import NoReturn

from farmtrace.ledger.bundle import render, verify_bundle
from farmtrace.ledger.checkpoint import parse_verifier_key
from farmtrace.ledger.errors import CheckpointError
import farmtrace.rules  # noqa: F401,E402  (declares the event types a bundle holds)

USAGE = "verify-offline BUNDLE.json [--lang zh_CN|en] [--log-key VKEY] [--json]"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _die(f"{message} (usage: {USAGE})")


def _die(message: str) -> NoReturn:
    print(f"verify-offline: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="verify-offline", usage=USAGE,
                     description="Check an exported farmtrace bundle (farmtrace export bundle) with no server.")
    parser.add_argument("bundle", help="the bundle JSON file ('-' for stdin)")
    parser.add_argument("--lang", choices=("zh_CN", "en"), default="zh_CN", help="language of the report")
    parser.add_argument("--log-key", help="the log's verifier key name+hash+base64, as the operator publishes it "
                                          "(default: trust the key inside the bundle)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.log_key is not None:
        try:
            parse_verifier_key(args.log_key)
        except CheckpointError as err:
            _die(f"--log-key: {err.message}")
        except ValueError:  # undecodable bytes in the argument
            _die("--log-key: the key name is not valid UTF-8")
    try:
        if args.bundle == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(args.bundle, "rb") as handle:
                raw = handle.read()
    except OSError as err:
        _die(f"cannot read {args.bundle}: {err.strerror or err}")
    report = verify_bundle(raw, trusted_log_key=args.log_key)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8")  # the report has Chinese and ✔ whatever the locale
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render(report, args.lang), end="")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
