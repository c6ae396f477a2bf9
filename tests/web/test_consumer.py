"""The consumer's page: GS1 Digital Link and /p/ routes, journey, lab results, recall, serial scans."""

import re

import pytest

from farmtrace.services import scans
from farmtrace.services.consumer import product_view
from farmtrace.rules.gs1 import check_digit, gtin14
from farmtrace.demo import GTINS

BOTTLES = f"/01/{GTINS['baijiu']}/10/PC0"
RECALLED_RICE = f"/01/{GTINS['rice']}/10/NJR-1"  # milled from paddy-nj-1-0, which the demo recalls


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
    for section in ('id="journey"', 'id="lab"', 'id="verify"'):
        assert section in response.get_data(as_text=True)
    assert "服务器已核验每一步" in page  # the server's own verdict, shown without JavaScript
    assert "GI-2023-平昌白酒" not in page  # no invented GI certificate (docs/domain-sources.md)
    rice = client.get(f"/01/{GTINS['rice']}/10/NJR-0")
    assert 'id="certificates"' in rice.get_data(as_text=True) and "HGZ-511922-00" in text(rice)  # the paddy's 合格证
    assert "检测结果" in page and "GB 2757-2012" in page
    assert page.index("入窖发酵") < page.index("赋码") < page.index("发货")  # the journey runs in time order
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
    from farmtrace.services.transaction import Actor
    from farmtrace.services.lineage import recall
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
    assert client.get("/batches/rice-nj-0/label").headers["Location"] == f"/01/{GTINS['rice']}/10/NJR-0"


@pytest.mark.parametrize("url", ["/01/06901234567862/10/PC0", "/01/123/10/PC0", f"/01/{GTINS['baijiu']}/10/NOPE",
                                 f"/01/{GTINS['baijiu']}/10/" + "x" * 21, "/p/nothing-here", "/p/%00%ff",
                                 BOTTLES + "/21/" + "9" * 21, "/01/０６９/10/PC0"])
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
    assert "发往 巴州区江北生鲜超市（巴州区）" in text(response)  # where the bottle was signed as shipped
    assert scans.alerts(app.extensions["ledger"]) == []


def test_a_serial_that_was_never_issued_is_a_counterfeit(client, app) -> None:
    page = client.get(BOTTLES + "/21/PC0000009999").get_data(as_text=True)
    assert 'id="counterfeit"' in page and "不属于该批次" in page
    assert [a.serial for a in scans.alerts(app.extensions["ledger"])] == ["PC0000009999"]


def test_a_bottle_opened_then_scanned_by_another_phone_is_flagged_as_refilled(app, cap_codes) -> None:
    url = BOTTLES + "/21/PC0000000042"
    mine, theirs = app.test_client(), app.test_client()  # two phones: each keeps its own anonymous cookie
    assert mine.get(url).status_code == 200
    opened = mine.post(url + "/opened", data={"code": cap_codes["PC0000000042"]})
    assert opened.status_code == 303
    assert 'id="counterfeit"' not in mine.get(url).get_data(as_text=True)  # the opener may look again
    page = theirs.get(url).get_data(as_text=True)
    assert 'id="counterfeit"' in page and "回收灌装" in page


def test_a_label_scanned_by_phones_in_too_many_places_is_flagged(app) -> None:
    url = BOTTLES + "/21/PC0000000100"
    for n in range(scans.MAX_PLACES + 1):  # a different phone on each network
        response = app.test_client().get(url, environ_base={"REMOTE_ADDR": f"10.{n}.0.1"})
    assert 'id="counterfeit"' in response.get_data(as_text=True) and "个不同网络" in text(response)
    alert = scans.alerts(app.extensions["ledger"])[0]
    assert alert.serial == "PC0000000100" and "too_many_places" in alert.flags
    assert alert.places == scans.MAX_PLACES + 1 and alert.devices == scans.MAX_PLACES + 1


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
    from farmtrace.services.exports.bundle import make_bundle
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
        assert client.post(path + "/opened").status_code in (303, 308, 404, 405, 422, 429), path
    probe()


def test_the_bundle_a_phone_fetches_verifies_and_is_revalidated_by_etag(client) -> None:
    from farmtrace.ledger.bundle import verify_bundle
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
    from farmtrace.services.transaction import Actor
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


# ---- issue 11: the consumer's trust ------------------------------------------------------------------------------
GTIN = BOTTLES.split("/")[2]
PHONE = "203.0.113.7"  # one network (/24) for the tests that count per network


def _opened_rows(app, serial: str) -> int:
    with app.extensions["ledger"].uow() as uow:
        return uow.connection.execute(text_sql("SELECT COUNT(*) FROM scans WHERE serial = :s AND kind = 'opened'"),
                                      {"s": serial}).scalar()


def text_sql(sql: str):
    from sqlalchemy import text as sa_text
    return sa_text(sql)


BAD_CAP_CODES = {  # id: (what the phone sends as `code`, the message beside the field)
    "no code at all (a cross-site form)": (None, "请输入印在瓶盖内的开盖码"),
    "an empty code": ("   ", "请输入印在瓶盖内的开盖码"),
    "a guess in the right format": ("00000-00000", "开盖码与此瓶不符"),
    "another bottle's code": ("<PC0000000043>", "开盖码与此瓶不符"),
    "not a code at all": ("<script>alert(1)</script>", "开盖码与此瓶不符"),
    "a very long value": ("9" * 5000, "开盖码与此瓶不符"),
}


@pytest.mark.parametrize(("sent", "message"), list(BAD_CAP_CODES.values()), ids=list(BAD_CAP_CODES))
def test_marking_a_bottle_opened_without_its_cap_code_marks_nothing_and_says_so_beside_the_field(
        app, cap_codes, sent, message) -> None:
    url = BOTTLES + "/21/PC0000000042"
    forger, buyer = app.test_client(), app.test_client()
    if sent is not None and sent.startswith("<PC"):
        sent = cap_codes[sent.strip("<>")]
    data = {} if sent is None else {"code": sent}
    refused = forger.post(url + "/opened", data=data, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 422 and refused.headers["Cache-Control"] == "no-store"
    page = refused.get_data(as_text=True)
    assert message in text(refused) and 'id="code-error"' in page and 'id="error-summary"' in page
    assert page.index('id="error-summary"') < page.index('id="product"')  # the summary first, the field below
    assert _opened_rows(app, "PC0000000042") == 0
    assert 'id="counterfeit"' not in buyer.get(url).get_data(as_text=True)  # the genuine bottle stays genuine


CODES_AS_TYPED = {  # id: how a person types the code printed as XXXXX-XXXXX
    "as printed": lambda code: code,
    "lower case, no hyphen": lambda code: code.replace("-", "").lower(),
    "with spaces": lambda code: " " + code.replace("-", " ") + " ",
    "O for 0 and l for 1": lambda code: code.replace("0", "O").replace("1", "l"),
}


@pytest.mark.parametrize("typed", list(CODES_AS_TYPED.values()), ids=list(CODES_AS_TYPED))
def test_the_code_under_the_cap_marks_the_bottle_opened_however_it_is_typed(app, cap_codes, typed) -> None:
    url = BOTTLES + "/21/PC0000000044"
    mine, theirs = app.test_client(), app.test_client()
    assert 'name="code"' in mine.get(url).get_data(as_text=True)  # the page asks for the code
    marked = mine.post(url + "/opened", data={"code": typed(cap_codes["PC0000000044"])})
    assert marked.status_code == 303 and marked.headers["Location"].endswith(url)
    again = mine.get(url).get_data(as_text=True)
    assert "已标记为开启" in again and 'name="code"' not in again and 'id="counterfeit"' not in again
    assert "回收灌装" in text(theirs.get(url))


def test_wrong_cap_codes_count_towards_the_network_write_cap(app, cap_codes) -> None:
    from farmtrace.web.auth import FailureCounter
    app.extensions["scan_limit"] = FailureCounter(limit=3, window=60.0)
    url = BOTTLES + "/21/PC0000000045"
    guesser = app.test_client()
    for guess in ("AAAAA-AAAAA", "BBBBB-BBBBB", "CCCCC-CCCCC"):
        assert guesser.post(url + "/opened", data={"code": guess},
                            environ_base={"REMOTE_ADDR": PHONE}).status_code == 422
    blocked = guesser.post(url + "/opened", data={"code": cap_codes["PC0000000045"]},
                           environ_base={"REMOTE_ADDR": "203.0.113.99"})  # the same /24
    assert blocked.status_code == 429 and "尝试次数过多" in text(blocked)
    assert _opened_rows(app, "PC0000000045") == 0


def test_one_phone_reloading_a_thousand_times_never_flags_the_bottle(app) -> None:
    from farmtrace.storage.models import Scan
    url = BOTTLES + "/21/PC0000000046"
    phone = app.test_client()
    for _ in range(25):  # 22 reloads flagged a genuine bottle before
        response = phone.get(url, environ_base={"REMOTE_ADDR": PHONE})
    assert response.status_code == 200 and 'id="counterfeit"' not in response.get_data(as_text=True)
    client_hash = scans.keyed(app.config["SECRET_KEY"], "device", phone.get_cookie("ft_device").value)
    place = scans.place_of(app.config["SECRET_KEY"], PHONE)

    def reloads(uow) -> None:  # 1,000 more counted reloads of the same phone, written as the page writes them
        uow.session.add_all([Scan(batch_id="bottles-pc-0", serial="PC0000000046", kind="scan", place=place,
                                  client=client_hash) for _ in range(1000)])
    app.extensions["ledger"].write(reloads)
    verdict = scans.verdict(app.extensions["ledger"], "bottles-pc-0", "PC0000000046")
    assert verdict.scans == 1025 and verdict.devices == 1 and verdict.places == 1 and verdict.flags == []
    assert 'id="counterfeit"' not in phone.get(url, environ_base={"REMOTE_ADDR": PHONE}).get_data(as_text=True)


def test_one_person_clearing_cookies_on_one_network_cannot_flag_a_bottle(app) -> None:
    url = BOTTLES + "/21/PC0000000047"
    for n in range(60):  # a new cookie every time, addresses all over one /24
        response = app.test_client().get(url, environ_base={"REMOTE_ADDR": f"203.0.113.{n + 1}"})
    assert 'id="counterfeit"' not in response.get_data(as_text=True)
    verdict = scans.verdict(app.extensions["ledger"], "bottles-pc-0", "PC0000000047")
    assert verdict.devices == scans.NETWORK_SHARE and verdict.places == 1 and verdict.flags == []


def test_many_phones_on_many_networks_still_flag_a_copied_label(app) -> None:
    url = BOTTLES + "/21/PC0000000048"
    phones = scans.MAX_DEVICES + 1
    for n in range(phones):  # NETWORK_SHARE phones per network, as many networks as it takes
        response = app.test_client().get(url, environ_base={"REMOTE_ADDR": f"10.{n // scans.NETWORK_SHARE}.0.{n + 1}"})
    assert 'id="counterfeit"' in response.get_data(as_text=True) and "部不同的手机" in text(response)
    verdict = scans.verdict(app.extensions["ledger"], "bottles-pc-0", "PC0000000048")
    assert verdict.devices == phones and "too_many_scans" in verdict.flags


def test_the_holder_issues_cap_codes_once_from_the_command_line_as_a_formula_safe_private_csv(
        app, db, tmp_path) -> None:
    import csv
    import os

    from click.testing import CliRunner

    from farmtrace.cli import main
    from farmtrace.services.transaction import Actor
    from tests.web.conftest import SECRET
    ledger = app.extensions["ledger"]
    distillery = Actor(org="pingchang-distillery")
    _bottles(ledger, distillery, "bottles-formula", "+L1", "=1+X01", "=1+X03", 3)
    env = {"FARMTRACE_INSTANCE": str(tmp_path / "instance"), "FARMTRACE_DATABASE_URL": db["url"],
           "FARMTRACE_SECRET_KEY": SECRET, "FARMTRACE_LOG_ORIGIN": "test.farmtrace/log"}
    out = tmp_path / "codes.csv"
    made = CliRunner().invoke(main, ["codes", "issue", "bottles-formula", "--out", str(out)], env=env)
    assert made.exit_code == 0, made.output
    assert os.stat(out).st_mode & 0o777 == 0o600
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["批次", "商品条码", "批号", "序列号", "开盖码", "链接"]
    assert [r[3] for r in rows[1:]] == ["'=1+X01", "'=1+X02", "'=1+X03"]  # a spreadsheet shows them, never runs them
    assert {r[2] for r in rows[1:]} == {"'+L1"}
    from farmtrace.services.cap_codes import check_cap_code
    assert all(check_cap_code(ledger, "bottles-formula", r[3][1:], r[4]) for r in rows[1:])
    with ledger.uow() as uow:  # stored: only the keyed hashes
        stored = uow.connection.execute(text_sql("SELECT code_hash FROM cap_codes WHERE batch_id = 'bottles-formula'"))
        hashes = [h for (h,) in stored]
    assert len(hashes) == 3 and not any(r[4].replace("-", "") in h.upper() for r in rows[1:] for h in hashes)
    again = CliRunner().invoke(main, ["codes", "issue", "bottles-formula", "--out", str(tmp_path / "again.csv")], env=env)
    assert again.exit_code == 1 and "shown only once" in again.output  # never shown twice
    clobber = CliRunner().invoke(main, ["codes", "issue", "bottles-formula", "--out", str(out)], env=env)
    assert clobber.exit_code == 2 and "exists" in clobber.output


def test_only_the_holder_may_issue_a_lots_cap_codes(app) -> None:
    from farmtrace.services.transaction import Actor
    from farmtrace.services.cap_codes import issue_cap_codes
    from farmtrace.ledger.errors import CustodyError, InvalidRequestError
    ledger = app.extensions["ledger"]
    with pytest.raises(CustodyError):
        issue_cap_codes(ledger, "bottles-pc-0", actor=Actor(org="pingchang-distillery"))  # shipped to the shop
    with pytest.raises(InvalidRequestError):
        issue_cap_codes(ledger, "rice-nj-0")  # no commissioned serials


def test_the_demo_writes_its_bottles_cap_codes_to_a_private_file(db, cap_codes) -> None:
    import os
    assert os.stat(db["cap_codes"]).st_mode & 0o777 == 0o600
    assert len(cap_codes) == 2000 and re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", cap_codes["PC0000000001"])


# ---- lot codes in links: every GS1 character set 82 character ---------------------------------------------------
CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


def test_gs1_character_set_82_has_82_characters() -> None:
    assert len(CSET82) == 82 and len(set(CSET82)) == 82


@pytest.fixture
def cset82_lots(app) -> dict[str, str]:
    """One rice lot packed with the demo's rice GTIN per set-82 character c, its lot code `c` + "x" + `c`."""
    from farmtrace.services.transaction import Actor
    from farmtrace.services.consumer import gtin_of
    ledger = app.extensions["ledger"]
    gtin = gtin_of(ledger, "rice-nj-0")[0]
    mill = Actor(org="enyang-rice-mill")
    lots = {}
    for i, c in enumerate(CSET82):
        batch, lot = f"cset82-{i}", f"{c}x{c}"
        ledger.append({"type": "create", "batch": batch, "data": {"product": "南江富硒大米 5kg", "lot": lot,
                       "family": "produce", "quantity": "10", "unit": "KGM"}}, actor=mill)
        ledger.append({"type": "packed", "batch": batch, "data": {"gtin": gtin, "units": "2", "net_content": "5 kg"}},
                      actor=mill)
        lots[batch] = lot
    return lots


def test_every_set_82_lot_code_gets_a_live_link_over_the_test_client_and_real_http(app, client, live_url,
                                                                                   cset82_lots) -> None:
    import http.client
    from urllib.parse import quote, urlsplit

    from markupsafe import escape

    from farmtrace.services.consumer import gtin_of
    gtin = gtin_of(app.extensions["ledger"], "rice-nj-0")[0]
    host = urlsplit(live_url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    dead = []
    for batch, lot in cset82_lots.items():
        link = client.get(f"/batches/{batch}/label").headers["Location"]  # what the QR code encodes
        assert link == f"/01/{gtin}/10/{quote(lot, safe='')}", lot
        shown = f"<dd>{escape(lot)}</dd>"  # the lot page names the lot
        if shown not in client.get(link).get_data(as_text=True):
            dead.append(("test client", lot))
        conn.request("GET", link)  # the exact bytes a phone sends
        answer = conn.getresponse()
        if answer.status != 200 or shown not in answer.read().decode():
            dead.append(("http", lot))
    conn.close()
    assert dead == []


def test_a_recall_reaches_the_consumer_through_a_lot_code_with_a_slash(app, client, cset82_lots) -> None:
    from farmtrace.services.transaction import Actor
    from farmtrace.services.lineage import recall
    batch = next(b for b, lot in cset82_lots.items() if lot == "/x/")
    recall(app.extensions["ledger"], batch, actor=Actor(org="bazhong-samr"), reason="抽检不合格：斜杠批号")
    page = client.get(client.get(f"/batches/{batch}/label").headers["Location"])
    assert page.status_code == 200 and "抽检不合格：斜杠批号" in text(page)


DIGITAL_LINK_PATHS = {  # id: (path as sent, (gtin, lot, serial, action) parsed, or None)
    "a lot": ("/01/06901234567861/10/PC0", ("06901234567861", "PC0", None, None)),
    "a lot holding /21/": ("/01/06901234567861/10/A%2F21%2FB/21/C%2FD/opened",
                           ("06901234567861", "A/21/B", "C/D", "opened")),
    "a GTIN-13 and a serial": ("/01/6901234567861/21/PC0000000007", ("06901234567861", None, "PC0000000007", None)),
    "a trailing slash": ("/01/06901234567861/10/PC0/", ("06901234567861", "PC0", None, None)),
    "unescaped set-82 characters": ("/01/06901234567861/10/A(1)", ("06901234567861", "A(1)", None, None)),
    "an unknown action": ("/01/06901234567861/10/PC0/delete", None),
    "an escape outside set 82": ("/01/06901234567861/10/%E4%B8%AD", None),
    "a bad check digit": ("/01/06901234567862/10/PC0", None),
    "a lot over 20 characters": ("/01/06901234567861/10/" + "A" * 21, None),
}


@pytest.mark.parametrize(("path", "parsed"), list(DIGITAL_LINK_PATHS.values()), ids=list(DIGITAL_LINK_PATHS))
def test_digital_link_paths_are_parsed_one_escaped_segment_at_a_time(path, parsed) -> None:
    from farmtrace.rules.gs1 import DigitalLink, parse_digital_link
    assert parse_digital_link(path, actions=("opened",)) == (DigitalLink(*parsed) if parsed else None)


def test_links_are_escaped_as_gs1_digital_link_requires() -> None:
    from farmtrace.rules.gs1 import digital_link_path
    assert digital_link_path("06901234567861", "A/B%", "=1 ") == "/01/06901234567861/10/A%2FB%25/21/%3D1%20"
    assert digital_link_path("06901234567861", "a-b._C9") == "/01/06901234567861/10/a-b._C9"  # unreserved stay


# ---- /01/{gtin}/21/{serial} and query parameters ---------------------------------------------------------------
def test_a_bottle_is_found_by_gtin_and_serial_alone_as_the_epcis_export_names_it(client) -> None:
    response = client.get(f"/01/{GTIN}/21/PC0000000007")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = text(response)
    assert "PC0000000007" in page and "平昌 巴山窖 五年 52%vol 500mL" in page and "已被扫描 1 次" in page
    assert "已被扫描 2 次" in text(client.get(BOTTLES + "/21/PC0000000007"))  # the same bottle, counted together
    second = client.get(f"/01/{GTIN}/21/PC0000010007")  # a bottle of the second lot, PC1
    assert second.status_code == 200 and "PC1" in text(second)
    missing = client.get(f"/01/{GTIN}/21/PC0000009999")
    assert missing.status_code == 404 and "未找到此追溯码" in missing.get_data(as_text=True)


QUERY_LINKS = {  # id: a link a phone may open, with the extra query parameters GS1 Digital Link allows
    "lot with an expiry date": BOTTLES + "?17=291231",
    "bottle with data attributes": BOTTLES + "/21/PC0000000008?17=291231&11=260310",
    "gtin and serial with tracking": f"/01/{GTIN}/21/PC0000000009?utm_source=wechat&linkType=gs1:pip",
    "lot with an odd parameter": BOTTLES + "?=&&%zz=%E4&lang=xx",
}


@pytest.mark.parametrize("url", list(QUERY_LINKS.values()), ids=list(QUERY_LINKS))
def test_extra_query_parameters_do_not_break_a_link(client, url) -> None:
    response = client.get(url)
    assert response.status_code == 200 and "平昌 巴山窖 五年 52%vol 500mL" in text(response)


# ---- QR quiet zone ------------------------------------------------------------------------------------------------
def test_qr_codes_have_a_four_module_quiet_zone(client) -> None:
    """ISO/IEC 18004: 4 modules of white on every side. The module size is read off the finder pattern
    (7 modules of dark in the symbol's first row)."""
    import base64
    import io

    from PIL import Image
    page = client.get("/batches/rice-nj-0/certificate").get_data(as_text=True)
    data = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert data
    image = Image.open(io.BytesIO(base64.b64decode(data.group(1)))).convert("L")
    width, height = image.size
    dark = [[image.getpixel((x, y)) < 128 for x in range(width)] for y in range(height)]
    rows = [y for y in range(height) if any(dark[y])]
    cols = [x for x in range(width) if any(dark[y][x] for y in range(height))]
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]
    finder = next(x for x in range(left, width) if not dark[top][x]) - left
    module = finder / 7
    margins = {"top": top, "left": left, "bottom": height - 1 - bottom, "right": width - 1 - right}
    assert {side: px / module for side, px in margins.items()} == {"top": 4, "left": 4, "bottom": 4, "right": 4}


def test_the_holder_issues_cap_codes_over_the_api_once(app, client, bearer) -> None:
    from farmtrace.services.transaction import Actor
    from farmtrace.services.cap_codes import check_cap_code
    ledger = app.extensions["ledger"]
    distillery = Actor(org="pingchang-distillery")
    _bottles(ledger, distillery, "bottles-api", "API-1", "API01", "API02", 2)
    url = "/api/v1/batches/bottles-api/cap-codes"
    assert client.post(url).status_code == 401
    refused = client.post(url, headers=bearer("shop"))
    assert refused.status_code == 403 and refused.get_json()["error"]["field"] == "batch"
    made = client.post(url, headers=bearer("distillery"))
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    body = made.get_json()
    assert [c["serial"] for c in body["codes"]] == ["API01", "API02"] and body["remaining"] == 0
    assert all(check_cap_code(ledger, "bottles-api", c["serial"], c["code"]) for c in body["codes"])
    again = client.post(url, headers=bearer("distillery"))
    assert again.status_code == 409 and "shown only once" in again.get_json()["error"]["message"]
    assert client.post("/api/v1/batches/no-such-lot/cap-codes", headers=bearer("distillery")).status_code == 404


def _bottles(ledger, distiller, batch: str, lot: str, first: str, last: str, count: int) -> None:
    """A new lot of `count` bottles with the serials first..last commissioned."""
    ledger.append({"type": "create", "batch": batch, "data": {
        "product": "平昌 测试酒", "lot": lot, "family": "baijiu", "quantity": str(count), "unit": "bottle"}},
        actor=distiller)
    ledger.append({"type": "commissioned", "batch": batch, "data": {
        "first_serial": first, "last_serial": last, "count": str(count)}}, actor=distiller)
