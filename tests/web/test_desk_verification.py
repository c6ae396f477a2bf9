import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from farmtrace.cli import main
from farmtrace.services import verify_jobs
from farmtrace.services.transaction import Actor
from farmtrace.services.verify import verify_log
from farmtrace.storage.engine import make_engine
from tests.web.test_account import csrf_of, log_in

TAGS = ["151192100009901", "151192100009902"]


def _start(client):
    return client.post("/desk/verification", data={"csrf_token": csrf_of(client, "/desk/verification")})


def _run_to_the_end(app, client) -> str:
    assert _start(client).status_code == 303
    job = verify_jobs.latest(app.extensions["ledger"])
    verify_jobs.wait(job.id, timeout=120)
    return client.get("/desk/verification?lang=en").get_data(as_text=True)


def _tamper(db, sql: str, params: dict) -> None:
    engine = make_engine(db["owner_url"])
    with engine.begin() as conn:  # an attacker with the database, past the append-only triggers
        if db["kind"] == "sqlite":
            conn.execute(text("DROP TRIGGER events_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)
    engine.dispose()


def _pigs_fed_a_banned_additive(app, monkeypatch) -> str:
    """A pig lot fed ractopamine, written past the hard rule (as an older release without the rule, or a
    bypassed append path, would have): signed by the farm's own key, chained and logged like any other."""
    ledger = app.extensions["ledger"]
    farm = Actor(org="qingyu-pig-farm")
    ledger.append({"type": "animal_tagged", "batch": "pigs-qy-rule", "data": {
        "product": "青峪猪 生猪", "lot": "QY-RULE", "family": "pork", "quantity": "2", "unit": "head", "tags": TAGS,
        "birth_or_arrival": "2026-10-01", "breed": "青峪猪", "place": "通江县 青峪镇 养殖场"}}, actor=farm)
    monkeypatch.setattr("farmtrace.services.append.judge", lambda *args: [])
    fed = ledger.append({"type": "fed", "batch": "pigs-qy-rule", "data": {
        "feed": "育肥猪配合饲料", "supplier": "某饲料厂", "lot": "F-X", "kg": "50", "additives": ["莱克多巴胺 ractopamine"]}},
        actor=farm)
    monkeypatch.undo()
    return fed.hash


def test_a_verification_job_runs_to_the_end_and_reports_the_demo_ok(app, client) -> None:
    log_in(client, "regulator")
    page = _run_to_the_end(app, client)
    assert "Everything verifies" in page and 'data-state="done"' in page and "Started by regulator" in page
    status = client.get("/desk/verification/status").get_json()
    assert status["state"] == "done" and status["ok"] is True and status["percent"] == 100
    assert "Everything verifies" in client.get("/desk/dashboard?lang=en").get_data(as_text=True)


def test_a_tampered_event_is_named_with_its_batch_and_reason(app, client, db) -> None:
    ledger = app.extensions["ledger"]
    with ledger.uow() as uow:
        victim = uow.events_of_batch("rice-nj-0")[2]
    _tamper(db, "UPDATE events SET signature = :s WHERE hash = :h", {"s": "A" * 86 + "==", "h": victim.hash})
    log_in(client, "admin")
    page = _run_to_the_end(app, client)
    failures = page[page.index('id="failures"'):]
    assert "problems found" in page and victim.hash[:16] in failures and "rice-nj-0" in failures
    assert "signature does not verify" in failures


def test_a_second_start_while_one_runs_is_refused(app, client) -> None:
    ledger = app.extensions["ledger"]
    running = verify_jobs.claim(ledger, "admin")  # as if another worker's job were running now
    log_in(client, "regulator")
    refused = _start(client)
    assert refused.status_code == 409
    assert "已有一次全账本核验正在进行" in refused.get_data(as_text=True)
    assert verify_jobs.latest(ledger).id == running and verify_jobs.latest(ledger).state == "running"
    with pytest.raises(verify_jobs.VerificationBusyError):
        verify_jobs.claim(ledger, "regulator")


def test_a_job_whose_process_died_shows_interrupted_and_frees_the_slot(app, client) -> None:
    ledger = app.extensions["ledger"]
    long_ago = datetime.now(timezone.utc) - verify_jobs.STALE - timedelta(minutes=1)
    dead = verify_jobs.claim(ledger, "admin", now=long_ago)  # its heartbeat stopped with its process
    log_in(client, "regulator")
    page = client.get("/desk/verification?lang=en").get_data(as_text=True)
    assert 'data-state="interrupted"' in page and "stopped without finishing" in page
    page = _run_to_the_end(app, client)
    assert "Everything verifies" in page
    assert verify_jobs.job(ledger, dead).state == "interrupted"


def test_the_rules_run_again_and_name_an_event_that_a_hard_rule_now_refuses(app, client, monkeypatch) -> None:
    bad = _pigs_fed_a_banned_additive(app, monkeypatch)
    ledger = app.extensions["ledger"]
    report = verify_log(ledger.engine, log_origin=ledger.log_origin)
    assert [(f.layer, f.event_hash, f.batch, f.rule) for f in report.failures] == [
        ("rules", bad, "pigs-qy-rule", "pork.banned_additive")]  # every signature, link and proof holds
    log_in(client, "regulator")
    page = _run_to_the_end(app, client)
    failures = page[page.index('id="failures"'):]
    assert bad[:16] in failures and "pigs-qy-rule" in failures and "pork.banned_additive" in failures
    chinese = client.get("/desk/verification?lang=zh_CN").get_data(as_text=True)
    assert "规则 pork.banned_additive 现在拒绝这条记录" in chinese and "莱克多巴胺" in chinese


def test_farmtrace_verify_re_runs_the_rules_too(app, db, tmp_path, monkeypatch) -> None:
    bad = _pigs_fed_a_banned_additive(app, monkeypatch)
    ledger = app.extensions["ledger"]
    env = {"FARMTRACE_DATABASE_URL": db["url"], "FARMTRACE_INSTANCE": str(tmp_path / "cli"),
           "FARMTRACE_LOG_ORIGIN": ledger.log_origin}
    result = CliRunner().invoke(main, ["verify", "--json"], env=env)
    report = json.loads(result.output)
    assert result.exit_code == 1 and report["ok"] is False and report["rules_checked"] > 0
    assert [(f["layer"], f["event_hash"], f["batch"], f["rule"]) for f in report["failures"]] == [
        ("rules", bad, "pigs-qy-rule", "pork.banned_additive")]
    plain = CliRunner().invoke(main, ["verify"], env=env)
    assert plain.exit_code == 1 and f"FAIL [rules]" in plain.output and "pork.banned_additive" in plain.output
