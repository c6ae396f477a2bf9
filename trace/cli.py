"""The `farmtrace` command (also `python -m farmtrace`).

Every command exits 0 on success; bad arguments and refused events print one clear line on
stderr and exit 2 (usage) or 1 (refused), writing nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from farmtrace.config import load_settings
from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import FarmtraceError
from farmtrace.services.ledger import Ledger


def _ledger(migrate: bool = False) -> Ledger:
    """Open the configured ledger; its connections are closed when the command ends."""
    from farmtrace.services.runtime import open_ledger
    ledger = open_ledger(load_settings(), migrate=migrate)
    click.get_current_context().call_on_close(ledger.engine.dispose)
    return ledger


class Group(click.Group):
    """Turns FarmtraceError into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FarmtraceError as err:
            where = f" [{err.field}]" if err.field else ""
            click.echo(f"error ({err.code}){where}: {err.message}", err=True)
            ctx.exit(1)


@click.group(cls=Group)
@click.version_option(package_name="farmtrace")
def main() -> None:
    """farmtrace: signed, hash-linked farm-to-table records for Bazhong (巴中)."""


@main.command()
@click.option("--demo/--no-demo", default=False, help="Load the demo data set if the database is empty.")
def init(demo: bool) -> None:
    """Migrate the database and create the operator's log key (idempotent)."""
    ledger = _ledger(migrate=True)
    key = ledger.init()
    click.echo(f"database ready; log key {key.id}")
    if demo:
        from farmtrace.demo import DEMO_PASSWORD, load_demo
        if load_demo(ledger, cap_codes=_demo_codes(), base_url=load_settings().base_url):
            click.echo(f"demo data loaded (users: rice, tea, pigfarm, meat, distillery, water, shop, regulator, "
                       f"admin; password {DEMO_PASSWORD}); bottle cap codes in {_demo_codes()}")
        else:
            click.echo("database not empty: demo data not loaded")
    from farmtrace.services.log import make_checkpoint
    make_checkpoint(ledger)


def _demo_codes() -> Path:
    """Where the demo's clear cap codes go (mode 0600): <instance>/demo-cap-codes.csv."""
    return load_settings().instance / "demo-cap-codes.csv"


@main.command()
def migrate() -> None:
    """Run the database migrations."""
    _ledger(migrate=True)
    click.echo("migrations applied")


@main.command()
@click.option("--scale", type=click.IntRange(1, 10**8), default=None,
              help="Grow the log with randomised chains until it holds at least this many events.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed for --scale (deterministic).")
def demo(scale: int | None, seed: int) -> None:
    """Load the demo data set into an empty database, or grow any database to --scale events."""
    import time

    from farmtrace.demo import grow, load_demo
    ledger = _ledger(migrate=True)
    if scale is None:
        loaded = load_demo(ledger, cap_codes=_demo_codes(), base_url=load_settings().base_url)
        click.echo(f"demo data loaded; bottle cap codes in {_demo_codes()}" if loaded
                   else "database not empty: nothing written")
        return
    ledger.checkpoint_interval = 30.0
    start = time.perf_counter()
    with ledger.uow() as uow:
        before = uow.log_size()

    def progress(size: int) -> None:
        rate = (size - before) / max(time.perf_counter() - start, 1e-9)
        click.echo(f"  … {size:,} events ({rate:,.0f}/s)", err=True)
    size = grow(ledger, scale, seed=seed, progress=progress)
    elapsed = time.perf_counter() - start
    from farmtrace.services.log import make_checkpoint
    make_checkpoint(ledger, force=True)
    click.echo(f"log holds {size:,} events; wrote {size - before:,} in {elapsed:.1f} s "
               f"({(size - before) / max(elapsed, 1e-9):,.0f} events/s)")


@main.group()
def org() -> None:
    """Organisations."""


@org.command("create")
@click.argument("org_id")
@click.argument("name")
@click.option("--kind", default="producer", show_default=True)
@click.option("--family", type=click.Choice(["produce", "pork", "baijiu", "water"]), default=None)
@click.option("--uscc", default=None, help="统一社会信用代码")
@click.option("--county", default=None, help="6-digit county code, e.g. 511922")
@click.option("--cma", default=None, help="A lab's 资质认定 (CMA) certificate number, 12 digits (--kind lab).")
def org_create(org_id: str, name: str, kind: str, family: str | None, uscc: str | None, county: str | None,
               cma: str | None) -> None:
    """Register an org and give it a signing key."""
    from farmtrace.services import admin
    ledger = _ledger()
    admin.create_org(ledger, org_id, name, kind=kind, family=family, uscc=uscc, county=county, cma=cma, by_user=None)
    with ledger.uow() as uow:
        key = uow.current_key(org_id)
    click.echo(f"org {org_id} created; key {key.id if key else '-'}")


@org.command("cma")
@click.argument("org_id")
@click.argument("number")
def org_cma(org_id: str, number: str) -> None:
    """Record a lab's 资质认定 (CMA) certificate number; samples may then name it."""
    from farmtrace.services import admin
    admin.set_cma(_ledger(), org_id, number, by_user=None)
    click.echo(f"lab {org_id}: CMA {number}")


@org.group("prefix")
def org_prefix() -> None:
    """GS1 company prefixes (厂商识别代码): an org packs only GTINs under its own."""


@org_prefix.command("add")
@click.argument("org_id")
@click.argument("prefix")
def org_prefix_add(org_id: str, prefix: str) -> None:
    """Register GS1 company PREFIX (4-12 digits, GTIN-13 form) to ORG_ID."""
    from farmtrace.services import admin
    added = admin.add_company_prefix(_ledger(), org_id, prefix, by_user=None)
    click.echo(f"prefix {prefix} registered to {org_id}" if added else f"{org_id} already holds prefix {prefix}")


@org_prefix.command("list")
@click.argument("org_id", required=False)
def org_prefix_list(org_id: str | None) -> None:
    """List registered GS1 company prefixes (all, or ORG_ID's): prefix, org."""
    for row in _ledger().company_prefixes(org_id):
        click.echo(f"{row.prefix}\t{row.org_id}")


@main.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.argument("username")
@click.option("--org", "org_id", required=True)
@click.option("--role", type=click.Choice(["producer", "regulator", "admin"]), default="producer", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_create(username: str, org_id: str, role: str, password: str) -> None:
    """Create a user of an org."""
    from farmtrace.services import admin
    admin.create_user(_ledger(), org_id, username, password, role=role, by_user=None)
    click.echo(f"user {username} created")


@user.command("password")
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True)
def user_password(username: str, password: str) -> None:
    """Set a user's password (8-128 characters); every session of that user ends."""
    from farmtrace.services import admin
    admin.reset_password(_ledger(), username, password, by_user=None)
    click.echo(f"password of {username} changed; their sessions have ended")


@main.group()
def key() -> None:
    """Org signing keys."""


@key.command("rotate")
@click.argument("org_id")
def key_rotate(org_id: str) -> None:
    """Replace an org's key with a new one (logged as key_added with replaces)."""
    from farmtrace.services import admin
    row = admin.rotate_org_key(_ledger(), org_id, by_user=None)
    click.echo(f"org {org_id} now signs with key {row.id}")


@key.command("revoke")
@click.argument("key_id")
@click.option("--reason", type=click.Choice(["compromise", "retired"]), default="compromise", show_default=True)
@click.option("--suspected-since", default=None, help="RFC 3339 time from which events are flagged for review.")
def key_revoke(key_id: str, reason: str, suspected_since: str | None) -> None:
    """Revoke a key now (hard cutoff); later events signed by it are refused."""
    entry = _ledger().revoke_key(key_id, reason=reason, suspected_since=suspected_since)
    click.echo(f"key {key_id} revoked at log position {entry.seq}")


@main.group()
def token() -> None:
    """API tokens (per user; shown once, stored hashed)."""


@token.command("create")
@click.argument("username")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Expire after this many days (default: never).")
def token_create(username: str, days: int | None) -> None:
    """Make an API token for USERNAME and print it once (it is stored only as a hash)."""
    from farmtrace.services import admin
    made = admin.create_token(_ledger(), username, days=days, by_user=None)
    until = made.expires_at.isoformat(timespec="seconds") if made.expires_at else "until revoked"
    click.echo(f"token {made.id} for {username} ({until}); shown once, keep it secret:", err=True)
    click.echo(made.token)


@token.command("revoke")
@click.argument("token_id", type=click.IntRange(1, None))
def token_revoke(token_id: int) -> None:
    """Revoke an API token by its id; requests with it are refused from now on."""
    from farmtrace.services import admin
    info = admin.revoke_token(_ledger(), token_id, by_user=None)
    click.echo(f"token {info.id} ({info.prefix}…, user {info.username}) revoked")


@token.command("list")
@click.option("--org", "org_id", default=None, help="Only the tokens of this org's users.")
def token_list(org_id: str | None) -> None:
    """List API tokens (id, prefix, user, org, role, state); never the tokens themselves."""
    from farmtrace.services import admin
    for t in admin.list_tokens(_ledger(), org_id, by_user=None):
        state = "revoked" if t.revoked_at else (f"expires {t.expires_at:%Y-%m-%d}" if t.expires_at else "active")
        click.echo(f"{t.id}\t{t.prefix}…\t{t.username}\t{t.org}\t{t.role}\t{state}")


@main.group()
def event() -> None:
    """Events."""


@event.command("add")
@click.argument("file", type=click.File("rb"))
@click.option("--org", "org_id", required=True, help="The acting org.")
def event_add(file: Any, org_id: str) -> None:
    """Append an event from a JSON FILE ('-' for stdin).

    The file holds either a draft to sign with the org's custodial key, or a pre-signed
    {"body": {...}, "signature": "base64"}.
    """
    from farmtrace.ledger.canonical import parse_json
    raw = file.read()
    ledger = _ledger()
    obj = parse_json(raw)
    actor = Actor(org=org_id)
    if isinstance(obj, dict) and set(obj) == {"body", "signature"}:
        stored = ledger.append_signed(obj["body"], obj["signature"], actor=actor)
    else:
        stored = ledger.append(raw, actor=actor)
    click.echo(json.dumps({"seq": stored.seq, "hash": stored.hash, "created": stored.created}))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--workers", type=click.IntRange(0, 64), default=None, help="Processes for signature checks.")
def verify(as_json: bool, workers: int | None) -> None:
    """Verify every event, chain, Merkle node and checkpoint; exit 0 only if all hold."""
    from farmtrace.services.verify import iter_failures, verify_log
    ledger = _ledger()

    def progress(done: int, total: int) -> None:
        if not as_json and total >= 50_000 and done % 50_000 < 5000:
            click.echo(f"  … {done:,}/{total:,} events", err=True)

    report = verify_log(ledger.engine, log_origin=ledger.log_origin, workers=workers, progress=progress)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for line in iter_failures(report):
            click.echo(line)
        for f in report.flagged:
            click.echo(f"FLAG [{f.layer}] seq {f.seq} event {f.event_hash} batch {f.batch}: {f.reason}")
        verdict = "OK" if report.ok else f"FAILED ({len(report.failures)} problems)"
        click.echo(f"{verdict}: {report.events} events, {report.batches} batches, {report.checkpoints} checkpoints, "
                   f"root {report.root}")
    sys.exit(0 if report.ok else 1)


@main.command()
def checkpoint() -> None:
    """Sign a checkpoint of the log at its current size."""
    from farmtrace.services.log import make_checkpoint
    cp = make_checkpoint(_ledger(), force=True)
    click.echo(cp.note if cp else "the log is empty")


@main.group()
def log() -> None:
    """The transparency log: proofs and the verifier key."""


@log.command("key")
def log_key() -> None:
    """Print the log's verifier key (signed-note form name+hash+base64)."""
    from farmtrace.services.log import log_verifier_key
    click.echo(log_verifier_key(_ledger()))


@log.command("inclusion")
@click.argument("event_hash")
@click.option("--size", type=click.IntRange(1), default=None, help="Tree size (default: the latest checkpoint).")
def log_inclusion(event_hash: str, size: int | None) -> None:
    """Print an inclusion proof for EVENT_HASH as JSON."""
    from farmtrace.ledger import merkle
    from farmtrace.services.log import inclusion_proof
    proof = inclusion_proof(_ledger(), event_hash, size)
    click.echo(json.dumps({"index": proof.index, "size": proof.size, "root": merkle.b64(proof.root),
                           "proof": [h.hex() for h in proof.proof]}))


@log.command("consistency")
@click.argument("first", type=click.IntRange(0))
@click.argument("second", type=click.IntRange(0))
def log_consistency(first: int, second: int) -> None:
    """Print a consistency proof between tree sizes FIRST and SECOND as JSON."""
    from farmtrace.services.log import consistency_proof
    proof = consistency_proof(_ledger(), first, second)
    click.echo(json.dumps({"from": first, "to": second, "proof": [h.hex() for h in proof]}))


@main.group()
def export() -> None:
    """Exports: offline-verifiable bundles, GS1 EPCIS 2.0 documents, the FSMA 204 sortable spreadsheet."""


@export.command("bundle")
@click.argument("batch_id")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-", show_default="stdout",
              help="Write the bundle here.")
def export_bundle(batch_id: str, out: Any) -> None:
    """Write BATCH_ID's whole lineage as a bundle that scripts/verify-offline checks with no server."""
    from farmtrace.services.exports.bundle import make_bundle
    doc = make_bundle(_ledger(), batch_id)
    out.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


class OneLineUsage(click.Command):
    """A command whose usage errors (missing option, bad choice) are one line on stderr, exit status 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            click.echo(f"error (invalid_request): {err.format_message()}", err=True)
            ctx.exit(2)
            raise  # not reached: exit raises


def _bad_arguments(message: str) -> None:
    """One line on stderr and exit status 2: a usage error, nothing written."""
    click.echo(f"error (invalid_request): {message}", err=True)
    click.get_current_context().exit(2)


def _window(start: str | None, end: str | None) -> Any:
    from farmtrace.ledger.errors import InvalidRequestError
    from farmtrace.services.exports._select import parse_window
    try:
        return parse_window(start, end)
    except InvalidRequestError as err:
        _bad_arguments(err.message)


@export.command("epcis", cls=OneLineUsage)
@click.option("--batch", "batch_id", default=None, help="Export this batch's lineage (ancestors and descendants).")
@click.option("--from", "start", default=None, help="Events from this date (2026-03-01, +08:00) or RFC 3339 time.")
@click.option("--to", "end", default=None, help="Events up to this date (included) or RFC 3339 time (excluded).")
@click.option("--product", default=None, help="Only batches whose product name contains this (or whose GTIN it is).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write here (default: stdout).")
def export_epcis(batch_id: str | None, start: str | None, end: str | None, product: str | None,
                 out: Path | None) -> None:
    """Write a GS1 EPCIS 2.0 JSON-LD document: --batch ID, or --from DATE --to DATE [--product P] (docs/exports.md)."""
    from farmtrace.services.exports.epcis import epcis_document
    if batch_id and (start or end or product):
        _bad_arguments("give either --batch or --from/--to [--product], not both")
    if not batch_id and not (start or end):
        _bad_arguments("give --batch ID, or --from DATE --to DATE")
    window = (None, None) if batch_id else _window(start, end)
    ledger = _ledger()
    doc = epcis_document(ledger, batch=batch_id, start=window[0], end=window[1], product=product,
                         base_url=load_settings().base_url)
    text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"{len(doc['epcisBody']['eventList'])} EPCIS events written to {out}", err=True)


@main.group("import")
def import_() -> None:
    """Import standard documents from other traceability systems (docs/exports.md)."""


@import_.command("epcis")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", required=True, help="The importing org: it records and signs every event.")
def import_epcis(file: Path, org: str) -> None:
    """Record a GS1 EPCIS 2.0 JSON document's events as ORG, all or nothing; importing it again adds nothing."""
    from farmtrace.services.epcis_import import import_epcis as run
    report = run(_ledger(), file.read_bytes(), org=org)
    click.echo(f"{report.events} EPCIS events, {report.recorded} new farmtrace events in {len(report.batches)} "
               f"batches (document sha256 {report.document})")


@export.command("fsma204", cls=OneLineUsage)
@click.option("--from", "start", required=True, help="CTEs from this date (2026-03-01, +08:00) or RFC 3339 time.")
@click.option("--to", "end", required=True, help="CTEs up to this date (included) or RFC 3339 time (excluded).")
@click.option("--product", default=None, help="Only batches whose product name contains this (or whose GTIN it is).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default=None,
              help="Default: from the --out suffix, else csv.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Header language.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Write the sheet here.")
def export_fsma204(start: str, end: str, product: str | None, fmt: str | None, lang: str, out: Path) -> None:
    """Write the FSMA 204 electronic sortable spreadsheet (one row per critical tracking event)."""
    from farmtrace.services.exports import fsma204
    low, high = _window(start, end)
    fmt = fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    rows = fsma204.rows(_ledger(), low, high, product)
    if fmt == "xlsx":
        out.write_bytes(fsma204.to_xlsx(rows, lang))
    else:
        out.write_bytes(fsma204.to_csv(rows, lang).encode("utf-8"))
    click.echo(f"{len(rows)} critical tracking events written to {out}", err=True)


@main.group()
def codes() -> None:
    """Codes printed under bottle caps (proof of possession for "I opened it"; stored only hashed)."""


@codes.command("issue", cls=OneLineUsage)
@click.argument("batch_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Write the clear codes here as CSV (mode 0600; an existing file is never overwritten).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Header language.")
def codes_issue(batch_id: str, out: Path, lang: str) -> None:
    """Issue a cap code for every commissioned serial of BATCH_ID that has none; shown this once, in --out."""
    from farmtrace.services.cap_codes import issue_cap_codes, save_private, to_csv
    if out.exists():
        _bad_arguments(f"{out} exists: choose another file (codes already written are never overwritten)")
    issue = issue_cap_codes(_ledger(), batch_id)
    save_private(out, to_csv([issue], base_url=load_settings().base_url, lang=lang))
    more = f"; {issue.remaining} serials still without a code: run again" if issue.remaining else ""
    click.echo(f"{len(issue.codes)} cap codes for {batch_id} written to {out} (shown once; keep it safe){more}",
               err=True)


@main.command()
@click.option("--events", type=click.IntRange(100, 10**7), default=20_000, show_default=True,
              help="How many events to verify in the verify benchmark.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the figures as JSON here.")
@click.option("--database-url", default=None,
              help="Grow and measure the big log here (e.g. a PostgreSQL URL) instead of a temporary SQLite file.")
@click.option("--appends/--no-appends", default=True, show_default=True,
              help="Run the SQLite append benchmarks (raw commit and canonicalisation baselines).")
def bench(events: int, out: Path | None, database_url: str | None, appends: bool) -> None:
    """Measure appends, demo generation, traces, verification and proofs, each beside a baseline."""
    from farmtrace.bench.runner import run_bench
    figures = run_bench(events=events, echo=click.echo, database_url=database_url, appends=appends)
    if out:
        out.write_text(json.dumps(figures, indent=2))


# ---- key device: the key group's device keys (here, below OneLineUsage, which their commands use) ----

@key.group("device")
def key_device() -> None:
    """Device keys: a tablet's own key, a sub-key of its org (the tablet keeps the private half)."""


def _device_command(command: Any) -> Any:
    """Run a device-key service call; a malformed argument is one line on stderr and exit status 2."""
    from farmtrace.ledger.errors import InvalidRequestError
    try:
        return command()
    except InvalidRequestError as err:
        where = f" [{err.field}]" if err.field else ""
        click.echo(f"error ({err.code}){where}: {err.message}", err=True)
        click.get_current_context().exit(2)


@key_device.command("add", cls=OneLineUsage)
@click.argument("org_id")
@click.option("--public-key", "public_key", required=True,
              help="The device's raw 32-byte Ed25519 public key, standard base64 (WebCrypto exportKey('raw')).")
@click.option("--label", required=True, help="The device's name, shown as 'signed on device …' (1-64 characters).")
def key_device_add(org_id: str, public_key: str, label: str) -> None:
    """Register a device key of ORG_ID (a key_added log entry; the org's own key stays valid)."""
    from farmtrace.services.devices import register_device_key
    ledger = _ledger()
    made = _device_command(lambda: register_device_key(ledger, org_id, public_key, label, by_user=None))
    click.echo(f"device {made.label} of {org_id}: key {made.id}, valid after log position {made.added_seq}")


@key_device.command("list", cls=OneLineUsage)
@click.argument("org_id")
def key_device_list(org_id: str) -> None:
    """List ORG_ID's device keys: id, label, added at, revoked at (or 'current'), reason."""
    from farmtrace.services.devices import device_keys
    for d in device_keys(_ledger(), org_id):
        click.echo(f"{d.id}\t{d.label}\t{d.added_at}\t{d.revoked_at or 'current'}\t{d.reason or '-'}")


@key_device.command("revoke", cls=OneLineUsage)
@click.argument("org_id")
@click.argument("key_id")
@click.option("--reason", type=click.Choice(["retired", "compromise"]), default="retired", show_default=True,
              help="retired: out of use; compromise: lost, stolen or tampered with. Either ends the key now.")
@click.option("--suspected-since", default=None, help="With --reason compromise: RFC 3339 time from which its "
                                                      "events are flagged for review.")
def key_device_revoke(org_id: str, key_id: str, reason: str, suspected_since: str | None) -> None:
    """Revoke device key KEY_ID of ORG_ID now; its later entries are refused, earlier ones still verify."""
    from farmtrace.services.devices import revoke_device_key
    ledger = _ledger()
    gone = _device_command(lambda: revoke_device_key(ledger, org_id, key_id, by_user=None, reason=reason,
                                                     suspected_since=suspected_since))
    click.echo(f"device {gone.label} of {org_id}: key {key_id} revoked ({reason}) at log position {gone.revoked_seq}")


# ---- administration: the same services as the admin pages (services/admin.py, docs/admin.md) ----

@org.command("list", cls=OneLineUsage)
def org_list() -> None:
    """List orgs: id, kind, family, users, name."""
    from farmtrace.services import admin
    for o in admin.list_orgs(_ledger(), None):
        click.echo(f"{o.id}\t{o.kind}\t{o.family or '-'}\t{o.users}\t{o.name}")


@org.command("show", cls=OneLineUsage)
@click.argument("org_id")
def org_show(org_id: str) -> None:
    """Show one org's details: name, contact, GS1 prefixes, CMA number, licences."""
    from farmtrace.services import admin
    o = admin.org_info(_ledger(), org_id, None)
    rows = [("id", o.id), ("name", o.name), ("kind", o.kind), ("family", o.family), ("uscc", o.uscc),
            ("county", o.county), ("cma", o.cma_number), ("contact_name", o.contact_name),
            ("contact_phone", o.contact_phone), ("address", o.address), ("prefixes", " ".join(o.prefixes)),
            *((f"licence.{lic.kind}", lic.number) for lic in o.licences), ("users", str(o.users))]
    for name, value in rows:
        click.echo(f"{name}\t{value or '-'}")


@org.command("edit", cls=OneLineUsage)
@click.argument("org_id")
@click.option("--name", default=None, help="The org's name (1-200 characters).")
@click.option("--contact-name", default=None, help="Contact person (联系人); an empty value clears it.")
@click.option("--contact-phone", default=None, help="Contact phone (联系电话), e.g. 0827-5261234.")
@click.option("--address", default=None, help="Address (地址).")
def org_edit(org_id: str, name: str | None, contact_name: str | None, contact_phone: str | None,
             address: str | None) -> None:
    """Change an org's name or contact details; options not given stay as they are."""
    from farmtrace.services import admin
    if name is None and contact_name is None and contact_phone is None and address is None:
        _bad_arguments("give at least one of --name, --contact-name, --contact-phone, --address")
    o = admin.edit_org(_ledger(), org_id, by_user=None, name=name, contact_name=contact_name,
                       contact_phone=contact_phone, address=address)
    click.echo(f"org {o.id}: {o.name}; contact {o.contact_name or '-'} {o.contact_phone or '-'}; "
               f"address {o.address or '-'}")


@org.group("licence")
def org_licence() -> None:
    """Licence numbers: sc (食品生产许可证), jy (食品经营许可证), slaughter (生猪定点屠宰证),
    animal_epidemic (动物防疫条件合格证)."""


@org_licence.command("add", cls=OneLineUsage)
@click.argument("org_id")
@click.argument("kind", type=click.Choice(["sc", "jy", "slaughter", "animal_epidemic"]))
@click.argument("number")
def org_licence_add(org_id: str, kind: str, number: str) -> None:
    """Record ORG_ID's licence NUMBER of KIND (replacing the one recorded before)."""
    from farmtrace.services import admin
    made = admin.set_licence(_ledger(), org_id, kind, number, by_user=None)
    click.echo(f"{org_id}: licence {made.kind} {made.number}")


@org_licence.command("remove", cls=OneLineUsage)
@click.argument("org_id")
@click.argument("kind", type=click.Choice(["sc", "jy", "slaughter", "animal_epidemic"]))
def org_licence_remove(org_id: str, kind: str) -> None:
    """Remove ORG_ID's licence of KIND (withdrawn, or recorded by mistake)."""
    from farmtrace.services import admin
    gone = admin.remove_licence(_ledger(), org_id, kind, by_user=None)
    click.echo(f"{org_id}: licence {gone.kind} {gone.number} removed")


@org_licence.command("list", cls=OneLineUsage)
@click.argument("org_id")
def org_licence_list(org_id: str) -> None:
    """List ORG_ID's licences: kind, number."""
    from farmtrace.services import admin
    for lic in admin.org_info(_ledger(), org_id, None).licences:
        click.echo(f"{lic.kind}\t{lic.number}")


@user.command("list", cls=OneLineUsage)
@click.argument("org_id", required=False)
def user_list(org_id: str | None) -> None:
    """List users (all, or ORG_ID's): username, org, role, live API tokens."""
    from farmtrace.services import admin
    for u in admin.list_users(_ledger(), org_id, by_user=None):
        click.echo(f"{u.username}\t{u.org}\t{u.role}\t{u.active_tokens}")


@user.command("role", cls=OneLineUsage)
@click.argument("username")
@click.argument("role", type=click.Choice(["producer", "regulator", "admin"]))
def user_role(username: str, role: str) -> None:
    """Change USERNAME's role (an org's last admin keeps theirs; regulator only in a regulator org)."""
    from farmtrace.services import admin
    u = admin.set_role(_ledger(), username, role, by_user=None)
    click.echo(f"user {u.username} ({u.org}) is now {u.role}")


@key.command("list", cls=OneLineUsage)
@click.argument("org_id")
def key_list(org_id: str) -> None:
    """List ORG_ID's keys: id, purpose (org or device), added at log position, state."""
    from farmtrace.services import admin
    from farmtrace.services.devices import device_keys
    ledger = _ledger()
    for k in admin.org_keys(ledger, org_id, by_user=None):
        state = "current" if k.is_current else f"{k.end_reason} at {k.ended_seq}"
        click.echo(f"{k.id}\torg\t{k.added_seq}\t{state}")
    for d in device_keys(ledger, org_id):
        state = "current" if not d.is_revoked else f"{d.reason} at {d.revoked_seq}"
        click.echo(f"{d.id}\tdevice\t{d.added_seq}\t{state}\t{d.label}")


@key.command("revoke-org", cls=OneLineUsage)
@click.argument("org_id")
@click.argument("key_id")
@click.option("--reason", type=click.Choice(["compromise", "retired"]), default="compromise", show_default=True)
def key_revoke_org(org_id: str, key_id: str, reason: str) -> None:
    """Revoke ORG_ID's own key KEY_ID now; if it was the current key, the org gets a new one at once."""
    from farmtrace.services import admin
    gone, new = admin.revoke_org_key(_ledger(), org_id, key_id, reason=reason, by_user=None)
    click.echo(f"key {gone.id} of {org_id} revoked ({reason}) at log position {gone.ended_seq}"
               + (f"; {org_id} now signs with key {new.id}" if new else ""))


if __name__ == "__main__":
    main()
