"""The consumer's page: GS1 Digital Link and /p/ routes, journey, lab results, recall, serial scans."""

import re

import pytest

from farmtrace.core import scans
from farmtrace.core.consumer import product_view
from farmtrace.core.gs1 import check_digit, gtin14

BOTTLES = "/01/06901234567861/10/PC0"
RECALLED_RICE = "/01/06901234567892/10/NJR-1"  # milled from paddy-nj-1-0, which the demo recalls


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_gtin_check_digits_follow_gs1() -> None:
    assert check_digit("0690123456786") == 1 and gtin14("06901234567861") == "06901234567861"
    assert gtin14("6901234567861") == "06901234567861"  # GTIN-13 padded to the Digital Link form
    assert gtin14("06901234567862") is None and gtin14("12345") is None and gtin14("０６９") is None


def test_a_digital_link_shows_the_lot_its_journey_lab_results_and_certificates(client) -> None:
    response = client.get(BOTTLES)
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = text(response)
    assert "平昌 巴山窖 五年 52%vol 500mL" in page and "平昌白酒工业园酿酒厂" in page
    for section in ('id="journey"', 'id="lab"', 'id="certificates"', 'id="verify"'):
        assert section in response.get_data(as_text=True)
    assert "服务器已核验每一步" in page  # the server's own verdict, shown without JavaScript
    assert "地理标志" in page and "GI-2023-平昌白酒" in page and "已过期" not in page
    assert "检测结果" in page and "GB 2757-2012" in page
    assert page.index("窖池发酵") < page.index("赋码") < page.index("发货")  # the journey runs in time order
    assert "召回" not in page.split("溯源旅程")[0]


def test_the_lot_page_is_revalidated_with_an_etag(client) -> None:
    first = client.get(BOTTLES)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get(BOTTLES, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data


def test_a_recall_of_an_ancestor_is_shown_first(client) -> None:
    page = client.get(RECALLED_RICE).get_data(as_text=True)
    assert 'id="recall"' in page and page.index('id="recall"') < page.index('id="product"')
    assert "镉含量存疑" in page


def test_a_recall_changes_the_etag(app, client) -> None:
    from farmtrace.core.append import Actor
    from farmtrace.core.lineage import recall
    etag = client.get(BOTTLES).headers["ETag"]
    recall(app.extensions["ledger"], "bottles-pc-0", actor=Actor(org="bazhong-samr"), reason="甲醇复检")
    response = client.get(BOTTLES, headers={"If-None-Match": etag})
    assert response.status_code == 200 and "甲醇复检" in response.get_data(as_text=True)


def test_a_lot_without_gtin_is_reached_by_its_public_token(client) -> None:
    label = client.get("/batches/tea-yd-0/label")
    assert label.status_code == 302 and label.headers["Location"].startswith("/p/")
    token_url = label.headers["Location"]
    assert client.get("/batches/tea-yd-0/label").headers["Location"] == token_url  # made once, then kept
    assert "云顶" in text(client.get(token_url))
    assert client.get("/batches/rice-nj-0/label").headers["Location"] == "/01/06901234567892/10/NJR-0"


@pytest.mark.parametrize("url", ["/01/06901234567862/10/PC0", "/01/123/10/PC0", "/01/06901234567861/10/NOPE",
                                 "/01/06901234567861/10/" + "x" * 21, "/p/nothing-here", "/p/%00%ff",
                                 "/01/06901234567861/10/PC0/21/" + "9" * 21, "/01/０６９/10/PC0"])
def test_unknown_or_malformed_codes_get_a_friendly_404(client, url) -> None:
    response = client.get(url)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "未找到此追溯码" in response.get_data(as_text=True)


def test_the_page_reads_in_english_too(client) -> None:
    page = text(client.get(BOTTLES + "?lang=en"))
    assert "Journey" in page and "Lab results" in page


def test_each_scan_of_a_serial_is_counted_and_a_normal_bottle_raises_no_warning(client, app) -> None:
    url = BOTTLES + "/21/PC0000000007"
    for n in (1, 2, 3):
        response = client.get(url)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        assert f"已被扫描 {n} 次" in text(response)
    assert 'id="counterfeit"' not in response.get_data(as_text=True)
    assert "发往 巴州区巴食巴适超市（巴州区）" in text(response)  # where the bottle was signed as shipped
    assert scans.alerts(app.extensions["ledger"]) == []


def test_a_serial_that_was_never_issued_is_a_counterfeit(client, app) -> None:
    page = client.get(BOTTLES + "/21/PC0000009999").get_data(as_text=True)
    assert 'id="counterfeit"' in page and "不属于该批次" in page
    assert [a.serial for a in scans.alerts(app.extensions["ledger"])] == ["PC0000009999"]


def test_a_bottle_opened_then_scanned_by_another_phone_is_flagged_as_refilled(app) -> None:
    url = BOTTLES + "/21/PC0000000042"
    mine, theirs = app.test_client(), app.test_client()  # two phones: each keeps its own anonymous cookie
    assert mine.get(url).status_code == 200
    opened = mine.post(url + "/opened")
    assert opened.status_code == 303
    assert 'id="counterfeit"' not in mine.get(url).get_data(as_text=True)  # the opener may look again
    page = theirs.get(url).get_data(as_text=True)
    assert 'id="counterfeit"' in page and "回收灌装" in page


def test_a_label_scanned_in_too_many_places_is_flagged(client, app) -> None:
    url = BOTTLES + "/21/PC0000000100"
    for n in range(scans.MAX_PLACES + 1):
        response = client.get(url, environ_base={"REMOTE_ADDR": f"10.{n}.0.1"})
    assert "扫描过多" in text(response) or 'id="counterfeit"' in response.get_data(as_text=True)
    alert = scans.alerts(app.extensions["ledger"])[0]
    assert alert.serial == "PC0000000100" and "too_many_places" in alert.flags and alert.places == 4


def test_the_regulator_sees_counterfeit_alerts_after_login(app, client) -> None:
    client.get(BOTTLES + "/21/PC0000009999")
    assert client.get("/regulator/alerts").status_code == 302  # login first
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login)
    assert token
    from farmtrace.demo import DEMO_PASSWORD
    response = client.post("/login", data={"username": "regulator", "password": DEMO_PASSWORD,
                                           "csrf_token": token.group(1)})
    assert response.status_code in (302, 303)
    page = client.get("/regulator/alerts").get_data(as_text=True)
    assert "PC0000009999" in page and "假冒预警" in page


def test_the_view_is_the_same_lineage_the_bundle_carries(app) -> None:
    from farmtrace.core.exports.bundle import make_bundle
    ledger = app.extensions["ledger"]
    view = product_view(ledger, "rice-nj-1")
    bundle = make_bundle(ledger, "rice-nj-1")
    assert sorted(view.lineage) == sorted(b["id"] for b in bundle["batches"])
    assert len(view.steps) == sum(len(b["events"]) for b in bundle["batches"])


def test_no_code_a_phone_can_send_gets_a_500(client) -> None:
    """Whatever a damaged or forged label encodes (any text, percent-escapes, huge values), the answer is
    a page (200 for a real code, 404 otherwise; a redirect where an escaped slash makes `//`), never a 500."""
    from urllib.parse import quote

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    text_part = st.text(min_size=1, max_size=40)

    @given(gtin=text_part, lot=text_part, serial=st.one_of(st.none(), text_part), token=text_part)
    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def probe(gtin: str, lot: str, serial: str | None, token: str) -> None:
        path = f"/01/{quote(gtin, safe='')}/10/{quote(lot, safe='')}"
        if serial is not None:
            path += f"/21/{quote(serial, safe='')}"
        for url in (path, f"/p/{quote(token, safe='')}"):
            assert client.get(url).status_code in (200, 308, 404), url
        assert client.post(path + "/opened").status_code in (303, 308, 404, 405), path
    probe()


def test_the_bundle_a_phone_fetches_verifies_and_is_revalidated_by_etag(client) -> None:
    from farmtrace.core.bundle import verify_bundle
    first = client.get("/batches/bottles-pc-0/bundle.json")
    assert first.status_code == 200 and first.mimetype == "application/json"
    vkey = client.get("/log/key").get_data(as_text=True).strip()
    assert verify_bundle(first.get_json(), trusted_log_key=vkey).ok
    again = client.get("/batches/bottles-pc-0/bundle.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/batches/no-such-lot/bundle.json").status_code == 404


def test_a_bottle_sold_by_serial_then_scanned_by_a_second_phone_is_flagged(app) -> None:
    """A retailer's `sell` naming the serial marks the bottle consumed: its buyer's phone may scan it,
    another phone after that is the refill pattern."""
    from farmtrace.core.append import Actor
    app.extensions["ledger"].append({"type": "sell", "batch": "bottles-pc-0", "data": {
        "quantity": "1", "unit": "bottle", "serials": ["PC0000000555"]}}, actor=Actor(org="bazhou-market"))
    url = BOTTLES + "/21/PC0000000555"
    buyer, other = app.test_client(), app.test_client()
    page = buyer.get(url).get_data(as_text=True)
    assert 'id="counterfeit"' not in page and "售出于" in text(buyer.get(url))
    assert 'id="counterfeit"' in other.get(url).get_data(as_text=True)


def test_a_flood_of_scans_from_one_network_is_shown_but_not_counted(app, client) -> None:
    from farmtrace.web.auth import FailureCounter
    app.extensions["scan_limit"] = FailureCounter(limit=3, window=60.0)
    url = BOTTLES + "/21/PC0000000321"
    for _ in range(5):
        response = client.get(url)
        assert response.status_code == 200
    assert "已被扫描 3 次" in text(response)  # the page still shows; the flood is not written
    refused = client.post(url + "/opened")
    assert refused.status_code == 429 and "已标记为开启" not in text(client.get(url))
