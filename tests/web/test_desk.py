"""The regulator's desk (issue "The regulator's desk"): search, the audit view, the trace graph, recall and the
mock recall drill, through the test client on the demo data. Producers are refused; a bad parameter gets a
clear 4xx; an event changed in the database shows as its own failed row."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from farmtrace.storage.engine import make_engine
from tests.web.test_account import csrf_of
from tests.web.test_producer import login
from tests.web.test_words_on_pages import _visible_text

SEARCH = "/desk/search"
PAGES = {  # page: Chinese words its data must show (names, not codes)
    SEARCH + "?family=pork": ["青峪猪 后腿肉", "生猪及猪肉", "千克"],
    "/desk/batches/cuts-qy-0": ["加工", "巴中西部肉类食品加工园屠宰厂", "GB 2762-2022", "千克"],
    "/desk/batches/rice-nj-0/trace": ["南江富硒稻谷", "1600 千克", "恩阳区粮油加工厂", "<svg"],
    "/desk/batches/carcass-qy-0/recall": ["青峪猪 后腿肉", "巴州区江北生鲜超市", "0827-5261009"],
}
BAD_SEARCHES = {  # id: (query, field named in the message)
    "a month 13": ("from=2026-13-01", "from"),
    "an end before the start": ("from=2026-05-01&to=2026-04-01", "to"),
    "a GTIN with letters": ("gtin=95210A", "gtin"),
    "an unknown org": ("org=no-such-org", "org"),
    "an unknown status": ("status=lost", "status"),
    "an unknown sort": ("sort=password_hash", "sort"),
    "page zero": ("page=0", "page"),
    "a page that is not a number": ("page=2%3B+DROP", "page"),
    "an over-long lot code": ("q=" + "x" * 65, "q"),
}


def _as(client: FlaskClient, user: str) -> FlaskClient:
    login(client, user)
    return client


def _lots_in(html: str) -> list[str]:
    return re.findall(r'href="/desk/batches/([A-Za-z0-9._:-]+)"', html)


@pytest.mark.parametrize("user", ["regulator", "admin"])
@pytest.mark.parametrize("page", list(PAGES))
def test_each_desk_page_is_in_chinese_by_default_with_words_not_codes(client: FlaskClient, user: str, page: str) -> None:
    got = _as(client, user).get(page)
    assert got.status_code == 200, page
    html = got.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    for words in PAGES[page]:
        assert words in html, (page, words)
    shown = _visible_text(html)
    # a county code alone is a code; inside a longer number (a quarantine certificate's) it is that number
    assert "KGM" not in shown and not re.search(r"(?<!\d)511902(?!\d)", shown)


@pytest.mark.parametrize("user", ["pigfarm", "meat", "shop"])
def test_producers_are_refused_every_desk_page_and_cannot_recall(client: FlaskClient, user: str) -> None:
    _as(client, user)
    for page in [*PAGES, "/desk/batches/cuts-qy-0/recall"]:
        assert client.get(page).status_code == 403, page
    token = csrf_of(client, "/producer/")
    assert client.post("/desk/batches/cuts-qy-0/recall", data={"csrf_token": token, "reason": "试图召回"}).status_code == 403
    assert client.post("/desk/batches/cuts-qy-0/drill", data={"csrf_token": token}).status_code == 403


def test_a_visitor_who_is_not_signed_in_is_sent_to_log_in(client: FlaskClient) -> None:
    assert client.get(SEARCH).status_code in (302, 401)


@pytest.mark.parametrize(("query", "field"), list(BAD_SEARCHES.values()), ids=list(BAD_SEARCHES))
def test_a_bad_search_parameter_is_named_beside_its_field_with_a_400(client: FlaskClient, query: str, field: str) -> None:
    got = _as(client, "regulator").get(f"{SEARCH}?{query}")
    assert got.status_code == 400
    html = got.get_data(as_text=True)
    assert f'id="e-{field}"' in html and 'class="error-summary"' in html
    assert f'href="#f-{field}"' in html or field in ("sort", "dir", "page")  # those have no field on the form


def test_an_unknown_batch_is_a_404_on_every_batch_page(client: FlaskClient) -> None:
    _as(client, "regulator")
    for page in ("/desk/batches/nope", "/desk/batches/nope/trace", "/desk/batches/nope/recall"):
        assert client.get(page).status_code == 404, page


SEARCHES = {  # id: (query, lots that must be found, lots that must not)
    "a lot code": ("q=K-0", {"cuts-qy-0"}, {"cuts-qy-1"}),
    "a GTIN without its leading zero": ("gtin=9521003002002", {"cuts-qy-0", "cuts-qy-1"}, {"rice-nj-0"}),
    "a bottle's serial": ("serial=PC0000000005", {"bottles-pc-0"}, {"bottles-pc-1"}),
    "an org, holder or maker": ("org=qingyu-pig-farm", {"pigs-qy-0", "pigs-qy-1"}, {"cuts-qy-0"}),
    "a product": ("product=白条", {"carcass-qy-0", "carcass-qy-1"}, {"cuts-qy-0"}),
    "a family": ("family=baijiu", {"bottles-pc-0", "blend-pc-1"}, {"cuts-qy-0"}),
    "a county": ("county=511921", {"pigs-qy-0"}, {"rice-nj-0"}),
    "a date range": ("from=2026-08-21&to=2026-08-22", {"carcass-qy-0", "cuts-qy-0"}, {"pigs-qy-0", "cuts-qy-1"}),
    "recalled lots": ("status=recalled", {"paddy-nj-1-0", "rice-nj-1"}, {"rice-nj-0"}),
    "lots in stock": ("status=in_stock&family=pork", {"cuts-qy-0", "cuts-qy-1"}, {"carcass-qy-0"}),
    "lots with warnings": ("status=warnings", {"cuts-qy-1"}, {"cuts-qy-0"}),
}


@pytest.mark.parametrize(("query", "found", "absent"), list(SEARCHES.values()), ids=list(SEARCHES))
def test_search_finds_a_batch_by_each_filter(client: FlaskClient, query: str, found: set[str], absent: set[str]) -> None:
    got = _as(client, "regulator").get(f"{SEARCH}?{query}")
    assert got.status_code == 200
    lots = set(_lots_in(got.get_data(as_text=True)))
    assert found <= lots and not absent & lots, lots


def test_search_results_are_sorted_and_paged_on_the_server(client: FlaskClient) -> None:
    _as(client, "regulator")
    with client.application.extensions["ledger"].uow() as uow:
        total = int(uow.execute("SELECT count(*) FROM batches").fetchall()[0][0])
    assert 25 < total <= 50  # the demo's batches: two pages
    first = client.get(f"{SEARCH}?sort=lot&dir=asc").get_data(as_text=True)
    assert f"找到 {total} 个批次" in first or f"{total} batches found" in first
    lots = re.findall(r'<td class="lot">([^<]+)</td>', first)
    assert lots == sorted(lots) and len(lots) == 25
    second = client.get(f"{SEARCH}?sort=lot&dir=asc&page=2").get_data(as_text=True)
    later = re.findall(r'<td class="lot">([^<]+)</td>', second)
    assert len(later) == total - 25 and later[0] >= lots[-1]
    assert 'aria-sort="ascending"' in first and 'rel="next"' in first and 'rel="prev"' in second


def test_the_audit_view_gives_each_event_its_own_verdicts(client: FlaskClient) -> None:
    html = _as(client, "regulator").get("/desk/batches/cuts-qy-0").get_data(as_text=True)
    rows = re.findall(r'<tr id="e(\d+)" class="(ok-row|failed)"', html)
    # the cuts' chain: transform, temperature, sample, test, packed, ship, receive, the shop's cold display, sell
    assert len(rows) == 9 and {kind for _, kind in rows} == {"ok-row"}
    assert html.count("✔") >= 9 * 5  # hash, signature, key, link, checkpoint on each row
    assert "GB 2762-2022" in html  # the lab verdict with its limit and standard


def test_a_tampered_event_shows_its_own_failed_row(client: FlaskClient, db: dict[str, str]) -> None:
    engine = make_engine(db["owner_url"])
    with engine.begin() as conn:  # someone with the database rewrites the slaughterhouse's cutting record
        if db["kind"] == "sqlite":
            conn.execute(text("DROP TRIGGER events_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        seq, canonical = conn.execute(text("SELECT seq, canonical FROM events WHERE batch_id = 'cuts-qy-0' "
                                           "AND type = 'temperature_logged'")).one()
        conn.execute(text("UPDATE events SET canonical = :c WHERE seq = :s"),
                     {"c": canonical.replace('"value":"', '"value":"1'), "s": seq})
    engine.dispose()
    html = _as(client, "regulator").get("/desk/batches/cuts-qy-0").get_data(as_text=True)
    failed = re.findall(r'<tr id="e(\d+)" class="failed"', html)
    assert failed == [str(seq)]
    row = html.split(f'<tr id="e{seq}"')[1].split("</tr>")[0]
    assert "✘" in row and "哈希" in row
    assert f'href="#e{seq}"' in html  # the summary links to it


def test_the_trace_graph_draws_every_ancestor_and_descendant_with_quantities(client: FlaskClient) -> None:
    html = _as(client, "regulator").get("/desk/batches/carcass-qy-0/trace").get_data(as_text=True)
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    for lot in ("QY-0", "C-0", "K-0"):  # the pigs, this carcass lot, the retail cuts
        assert lot in svg
    assert "7 头" in svg and "616 千克" in svg
    assert "script" not in svg and "http://" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_the_recall_confirmation_lists_every_descendant_and_posting_writes_one_recall(
        app: Flask, client: FlaskClient) -> None:
    _as(client, "regulator")
    page = "/desk/batches/pigs-qy-0/recall"
    html = client.get(page).get_data(as_text=True)
    listed = re.findall(r'href="/desk/batches/([^"]+)"', html.split('id="affected-lots"')[1].split("</table>")[0])
    assert set(listed) == {"pigs-qy-0", "carcass-qy-0", "cuts-qy-0"}
    assert "巴州区江北生鲜超市" in html and "巴中西部肉类食品加工园屠宰厂" in html
    ledger = app.extensions["ledger"]
    before = ledger.row_counts()
    refused = client.post(page, data={"csrf_token": csrf_of(client, page), "reason": ""})
    assert refused.status_code == 422 and ledger.row_counts() == before
    done = client.post(page, data={"csrf_token": csrf_of(client, page), "reason": "非洲猪瘟排查：召回该批生猪及其产品"})
    assert done.status_code == 303 and "/desk/batches/pigs-qy-0/trace" in done.headers["Location"]
    after = ledger.row_counts()
    assert after["events"] == before["events"] + 1 and after["recalls"] == before["recalls"] + 3
    with ledger.uow() as uow:
        recall = uow.event_by_hash(uow.recall_of("cuts-qy-0") or "")
        assert recall is not None and recall.type == "recall" and recall.org_id == "bazhong-samr"
    assert "已召回" in client.get("/batches/cuts-qy-0").get_data(as_text=True) or \
        "RECALLED" in client.get("/batches/cuts-qy-0").get_data(as_text=True)


def test_a_recall_without_the_csrf_token_is_refused(client: FlaskClient, app: Flask) -> None:
    _as(client, "regulator")
    before = app.extensions["ledger"].row_counts()
    assert client.post("/desk/batches/pigs-qy-0/recall", data={"reason": "没有令牌"}).status_code == 400
    assert app.extensions["ledger"].row_counts() == before


def test_the_recall_shows_on_the_holder_home_and_on_every_descendant_public_page(client: FlaskClient) -> None:
    _as(client, "regulator")
    page = "/desk/batches/pigs-qy-0/recall"
    client.post(page, data={"csrf_token": csrf_of(client, page), "reason": "抽检复核：召回该批生猪及其产品"})
    for lot in ("pigs-qy-0", "carcass-qy-0", "cuts-qy-0"):
        public = client.get(f"/batches/{lot}").get_data(as_text=True)
        assert 'class="card recall"' in public, lot
    for user, lots in {"shop": ["K-0"], "meat": ["QY-0", "C-0"]}.items():  # the market holds the cuts
        _as(client, user)
        home = client.get("/producer/").get_data(as_text=True)
        notices = home.split('id="recalled"', 1)[1].split("</section>", 1)[0]
        for lot in lots:
            assert f"{lot}</span>" in notices, (user, lot)
        assert "K-1" not in notices and "C-1" not in notices


def test_a_mock_recall_lists_without_flagging_and_is_kept_on_the_batch_page(app: Flask, client: FlaskClient) -> None:
    _as(client, "regulator")
    ledger = app.extensions["ledger"]
    before = ledger.row_counts()
    page = "/desk/batches/paddy-nj-0-0"
    done = client.post(f"{page}/drill", data={"csrf_token": csrf_of(client, page)})
    assert done.status_code == 303 and "#drills" in done.headers["Location"]
    assert ledger.row_counts() == before  # no event, no recall: a drill flags nothing
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    drills = html.split('id="drills"')[1]
    row = drills.split('<tr class="latest">')[1].split("</tr>")[0]
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[1] == "regulator" and cells[2] == "2" and cells[3] == "2"  # paddy + rice; the mill and the market
    assert " ms" in row


def test_an_admin_of_a_farm_is_not_a_regulator(client: FlaskClient) -> None:
    """The desk is for regulators and the operator (an admin of a regulator org), not every admin."""
    for username, status in (("pigfarm-admin", 403), ("pigfarm", 403), ("regulator", 200), ("admin", 200)):
        assert _as(client, username).get(SEARCH).status_code == status, username
