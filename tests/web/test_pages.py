import base64

import pytest

from farmtrace.core import merkle
from farmtrace.core.checkpoint import Checkpoint
from farmtrace.core.events import EventBody


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
