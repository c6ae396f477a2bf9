import base64

import pytest

from farmtrace.ledger import merkle
from farmtrace.ledger.checkpoint import Checkpoint
from farmtrace.ledger.events import EventBody


def test_the_home_page_lists_the_demo_batches_in_chinese(client) -> None:
    page = client.get("/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "最新批次" in text and "南江富硒大米" in text and "巴山窖" in text and "青峪猪" in text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_english_is_the_second_locale(client) -> None:
    assert "Recent batches" in client.get("/?lang=en").get_data(as_text=True)


def test_a_batch_page_shows_each_step_and_that_it_verifies(client) -> None:
    text = client.get("/batches/tea-yd-0").get_data(as_text=True)
    assert "巴中云顶富硒绿茶" in text and "加工" in text and "检测" in text and "NY/T 600-2002" in text
    assert "全部环节核验通过" in text


def test_a_recalled_lot_shows_the_warning_first(client) -> None:
    text = client.get("/batches/rice-nj-1").get_data(as_text=True)
    assert text.index("已召回") < text.index("<h1>")


def test_the_commitment_certificate_is_built_from_the_signed_events(client) -> None:
    text = client.get("/batches/leaf-yd-0/certificate").get_data(as_text=True)
    assert "承诺达标合格证" in text and "云顶茶鲜叶" in text and "data:image/png;base64," in text
    assert "/p/" in text  # the QR code and its printed link go to the lot's public page (no GTIN: a token)


def test_unknown_pages_get_a_friendly_404(client) -> None:
    page = client.get("/batches/no-such-batch")
    assert page.status_code == 404 and "抱歉" in page.get_data(as_text=True)


def test_an_auditor_can_replay_the_log_and_check_it_against_the_signed_checkpoint(client) -> None:
    vkey = client.get("/log/key").get_data(as_text=True).strip()
    note = client.get("/log/checkpoint").get_data()
    checkpoint = Checkpoint.from_note(note, [vkey])
    entries = client.get(f"/api/v1/log/entries?start=0&end={checkpoint.size}").get_json()["entries"]
    assert [e["index"] for e in entries] == list(range(checkpoint.size))
    for entry in entries:
        assert EventBody.parse(entry["canonical"]).hash == entry["hash"]
    leaves = [merkle.leaf_hash(e["canonical"].encode()) for e in entries]
    assert merkle.root_from_leaves(leaves) == checkpoint.root
    target = entries[5]
    proof = client.get(f"/api/v1/log/inclusion?hash={target['hash']}&size={checkpoint.size}").get_json()
    assert proof["index"] == 5 and base64.b64decode(proof["root"]) == checkpoint.root
    merkle.verify_inclusion(leaves[5], 5, checkpoint.size, [bytes.fromhex(h) for h in proof["proof"]],
                            checkpoint.root)
    older = merkle.root_from_leaves(leaves[:7])
    consistency = client.get(f"/api/v1/log/consistency?from=7&to={checkpoint.size}").get_json()
    merkle.verify_consistency(7, checkpoint.size, [bytes.fromhex(h) for h in consistency["proof"]], older,
                              checkpoint.root)


BAD_QUERIES = ["/api/v1/log/inclusion?hash=xyz", "/api/v1/log/inclusion?hash=" + "0" * 64,
               "/api/v1/log/consistency?from=0&to=3", "/api/v1/log/consistency?from=5&to=2",
               "/api/v1/log/consistency?from=1&to=999999", "/api/v1/log/consistency?from=-1&to=2",
               "/api/v1/log/entries?start=abc", "/api/v1/log/entries?start=5&end=1", "/api/v1/events/nothex"]


@pytest.mark.parametrize("url", BAD_QUERIES)
def test_bad_log_queries_get_a_4xx_with_a_reason(client, url) -> None:
    response = client.get(url)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]["message"]


def test_keys_and_events_are_published(client) -> None:
    keys = client.get("/api/v1/keys").get_json()["keys"]
    assert any(k["purpose"] == "log" for k in keys) and any(k["org"] == "yunding-tea" for k in keys)
    entry = client.get("/api/v1/log/entries?start=3&end=4").get_json()["entries"][0]
    event = client.get(f"/api/v1/events/{entry['hash']}").get_json()
    assert event["canonical"] == entry["canonical"] and event["seq"] == 3


@pytest.fixture
def signature_checks(monkeypatch):
    """How many signatures the server has verified: a counter around the real check."""
    from farmtrace.services import verify
    counted = {"n": 0}
    real = verify._signature_ok

    def counting(*args):
        counted["n"] += 1
        return real(*args)
    monkeypatch.setattr(verify, "_signature_ok", counting)
    return counted


def _grow(app, batch_id: str, n: int) -> list[str]:
    """Append `n` observations to the batch as its holder; return the hashes of its whole chain in order."""
    from farmtrace.services.transaction import Actor
    ledger = app.extensions["ledger"]
    with ledger.uow() as uow:
        holder = uow.batch(batch_id).org_id
    for start in range(0, n, 500):
        ledger.append_many([{"type": "observe", "batch": batch_id, "data": {"step": "inspected", "note": str(i)}}
                            for i in range(start, min(n, start + 500))], actor=Actor(org=holder))
    with ledger.uow() as uow:
        return [e.hash for e in uow.events_of_batch(batch_id)]


def test_a_second_visit_to_a_batch_page_verifies_no_signature_again(app, client, signature_checks) -> None:
    first = client.get("/batches/tea-yd-0")
    verified = signature_checks["n"]
    assert first.status_code == 200 and verified >= 7 and first.headers["Cache-Control"] == "no-cache"
    again = client.get("/batches/tea-yd-0")
    assert again.get_data() == first.get_data() and signature_checks["n"] == verified
    unchanged = client.get("/batches/tea-yd-0", headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and signature_checks["n"] == verified
    english = app.test_client().get("/batches/tea-yd-0?lang=en")  # another rendering of the same verified view
    assert "Every step verifies" in english.get_data(as_text=True) and signature_checks["n"] == verified
    _grow(app, "tea-yd-0", 1)  # the chain moved: its page is verified and rendered anew
    moved = client.get("/batches/tea-yd-0", headers={"If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200 and moved.headers["ETag"] != first.headers["ETag"]
    assert signature_checks["n"] == 2 * verified + 1


OUT_OF_RANGE_PAGES = {  # case: ?page=
    "past the last page": "4",
    "page zero": "0",
    "a negative page": "-1",
    "not a number": "abc",
    "a 1,000-digit number": "9" * 1000,
}


def test_a_long_chain_is_shown_a_hundred_steps_a_page_oldest_first(app, client) -> None:
    chain = _grow(app, "tea-yd-0", 250)
    assert len(chain) == 258  # the demo's 7 steps of the tea (with its 巴中云顶 brand licence) and 250 more
    first = client.get("/batches/tea-yd-0").get_data(as_text=True)
    assert chain[0][:16] in first and chain[99][:16] in first and chain[100][:16] not in first
    assert "第 1–100 步，共 258 步 · 第 1 / 3 页" in first and "全部环节核验通过" in first
    assert 'href="/batches/tea-yd-0?page=2" rel="next"' in first and 'rel="prev"' not in first
    last = client.get("/batches/tea-yd-0?page=3").get_data(as_text=True)
    assert chain[-1][:16] in last and chain[199][:16] not in last and "第 201–258 步" in last
    assert 'href="/batches/tea-yd-0?page=2" rel="prev"' in last and 'rel="next"' not in last
    for case, number in OUT_OF_RANGE_PAGES.items():
        missing = client.get(f"/batches/tea-yd-0?page={number}")
        assert missing.status_code == 404, case
        assert "没有第" in missing.get_data(as_text=True) and "共 3 页" in missing.get_data(as_text=True), case


def test_a_step_that_fails_on_a_later_page_is_named_on_the_first(app, client, db) -> None:
    from sqlalchemy import text

    from farmtrace.storage.engine import make_engine
    chain = _grow(app, "tea-yd-0", 150)
    engine = make_engine(db["owner_url"])
    with engine.begin() as conn:  # an attacker with the database: step 150's signature replaced
        if db["kind"] == "sqlite":
            conn.execute(text("DROP TRIGGER events_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE events SET signature = :s WHERE hash = :h"), {"s": "A" * 86 + "==", "h": chain[149]})
    engine.dispose()
    first = client.get("/batches/tea-yd-0").get_data(as_text=True)
    assert "部分环节核验未通过" in first and "全部环节核验通过" not in first
    assert "第一个未通过的是第 150 步（第 2 页）" in first and 'href="/batches/tea-yd-0?page=2"' in first
    second = client.get("/batches/tea-yd-0?page=2").get_data(as_text=True)
    assert "✘ signature does not verify" in second and chain[149][:16] in second


def test_error_pages_speak_the_pages_language_not_werkzeugs_english(client) -> None:
    """A 403 or 404 with no message of its own used to print werkzeug's English on a Chinese page."""
    from tests.web.test_producer import login
    login(client, "rice")
    cases = {"/desk/search": (403, "此页面不属于您的账号"), "/no-such-page": (404, "找不到这个页面")}
    for path, (status, words) in cases.items():
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == status and words in html, path
        assert "You don't have the permission" not in html and "requested URL was not found" not in html
    english = client.get("/no-such-page?lang=en").get_data(as_text=True)
    assert "We could not find this page" in english
