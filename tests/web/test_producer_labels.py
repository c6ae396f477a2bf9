"""Labels for a lot: its QR codes, decoded as a phone would, open the lot's public page; only the
org that holds or created the lot may print them."""

import io
import re

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from farmtrace.demo import DEMO_PASSWORD, GTINS

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
QR_SRC = re.compile(r'<img class="label-qr" src="([^"]+)"')
BOTTLES, SERIALS = "bottles-pc-0", "/producer/batches/bottles-pc-0/serials"

# id: (user, batch, lot code, the path its QR code must encode: exact, or a prefix ending in "/")
LOT_LABELS = {
    "a packed lot, printed by the shop holding it": ("shop", "rice-nj-0", "NJR-0", f"/01/{GTINS['rice']}/10/NJR-0"),
    "a packed lot, printed by the mill that made it": ("mill", "rice-nj-0", "NJR-0", f"/01/{GTINS['rice']}/10/NJR-0"),
    "a lot with no GTIN, linked by its public token": ("rice", "plot-nj-0", "CC-0", "/p/"),
}
# id: (user, path): another org's user is refused everything about a lot
NOT_THEIRS = {
    "the sheet": ("tea", "/producer/batches/rice-nj-0/labels"),
    "the lot's QR code": ("tea", "/producer/batches/rice-nj-0/qr.png"),
    "a serial's QR code": ("rice", f"{SERIALS}/PC0000000001/qr.png"),
    "the bottles' sheet, by the mill": ("mill", f"/producer/batches/{BOTTLES}/labels"),
}
UNKNOWN = {
    "a batch's sheet": "/producer/batches/no-such-lot/labels",
    "a batch's QR code": "/producer/batches/no-such-lot/qr.png",
    "a batch's serial": "/producer/batches/no-such-lot/serials/PC0000000001/qr.png",
    "a serial past the lot's range": f"{SERIALS}/PC0000001001/qr.png",
    "a serial before it": f"{SERIALS}/PC0000000000/qr.png",
    "a serial of another lot": f"{SERIALS}/PC0000010001/qr.png",
    "a serial with fewer digits": f"{SERIALS}/PC000000001/qr.png",
    "a serial of a lot with none": "/producer/batches/blend-pc-0/serials/PC0000000001/qr.png",
    "a sheet page past the last": f"/producer/batches/{BOTTLES}/labels?page=3",
    "a sheet page that is not a number": f"/producer/batches/{BOTTLES}/labels?page=x",
}


def log_in(client: FlaskClient, username: str) -> None:
    form = client.get("/login").get_data(as_text=True)
    done = client.post("/login", data={"csrf_token": CSRF.search(form).group(1), "username": username,  # type: ignore[union-attr]
                                       "password": DEMO_PASSWORD})
    assert done.status_code == 303, done.get_data(as_text=True)


def decoded(client: FlaskClient, path: str) -> str:
    """What the QR code PNG at `path` says, read by zxing-cpp as a phone's scanner would."""
    png = client.get(path)
    assert png.status_code == 200 and png.mimetype == "image/png", (path, png.status_code)
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert [code.format for code in found] == [zxingcpp.BarcodeFormat.QRCode], path
    return str(found[0].text)


def base_url(app: Flask) -> str:
    return str(app.config["FARMTRACE"].base_url)


def opened(client: FlaskClient, app: Flask, url: str) -> str:
    """The page a scanned URL opens on this site (it must be one of ours)."""
    assert url.startswith(base_url(app) + "/"), url
    page = client.get(url[len(base_url(app)):])
    assert page.status_code == 200, (url, page.status_code)
    return page.get_data(as_text=True)


def qr_sources(sheet: str) -> list[str]:
    return [src.replace("&amp;", "&") for src in QR_SRC.findall(sheet)]


@pytest.mark.parametrize(("user", "batch", "lot", "path"), list(LOT_LABELS.values()), ids=list(LOT_LABELS))
def test_a_lots_qr_code_opens_its_public_page(app, client, user, batch, lot, path) -> None:
    log_in(client, user)
    url = decoded(client, f"/producer/batches/{batch}/qr.png")
    if path.endswith("/"):
        assert url.startswith(base_url(app) + path) and len(url) > len(base_url(app) + path)
    else:
        assert url == base_url(app) + path
    assert lot in opened(client, app, url)


@pytest.mark.parametrize(("user", "batch", "lot", "path"), list(LOT_LABELS.values()), ids=list(LOT_LABELS))
def test_a_lots_sheet_is_one_a4_page_of_its_labels_each_opening_the_lot(app, client, user, batch, lot, path) -> None:
    log_in(client, user)
    page = client.get(f"/producer/batches/{batch}/labels")
    assert page.status_code == 200
    sheet = page.get_data(as_text=True)
    sources = qr_sources(sheet)
    assert sources == [f"/producer/batches/{batch}/qr.png"] * 21
    url = decoded(client, sources[0])
    assert sheet.count(f'<p class="label-link">{url}</p>') == 21
    assert sheet.count(f"</span> {lot}</p>") == 21
    assert lot in opened(client, app, url)


def test_the_bottles_sheet_has_one_label_per_serial_each_qr_its_own_digital_link(app, client) -> None:
    log_in(client, "distillery")
    first = client.get(f"/producer/batches/{BOTTLES}/labels?lang=zh_CN")
    assert first.status_code == 200
    sheet = first.get_data(as_text=True)
    sources = qr_sources(sheet)
    assert len(sources) == 500 and sources[0] == f"{SERIALS}/PC0000000001/qr.png"
    assert sources[-1] == f"{SERIALS}/PC0000000500/qr.png" and len(set(sources)) == 500
    for label in ("平昌 巴山窖 五年 52%vol 500mL", "批号", "序列号", "PC0000000001", "2026-03-13", "巴州区江北生鲜超市"):
        assert label in sheet
    with client.get("/static/labels.css") as css:  # a file response: closed, or pytest warns
        assert "@page" in css.get_data(as_text=True) and "size:A4" in css.get_data(as_text=True)
    assert f"/producer/batches/{BOTTLES}/labels?page=2" in sheet

    second = qr_sources(client.get(f"/producer/batches/{BOTTLES}/labels?page=2").get_data(as_text=True))
    assert len(second) == 500 and second[0] == f"{SERIALS}/PC0000000501/qr.png"
    assert second[-1] == f"{SERIALS}/PC0000001000/qr.png"
    for source in (sources[0], sources[-1], second[-1]):
        serial = source.split("/")[-2]
        url = decoded(client, source)
        assert url == f"{base_url(app)}/01/{GTINS['baijiu']}/21/{serial}"
        assert f'<p class="label-link">{url}</p>' in sheet or source == second[-1]
        page = opened(client, app, url)
        assert serial in page and "PC0" in page


def test_the_bottles_lot_qr_code_opens_the_lot_not_one_bottle(app, client) -> None:
    log_in(client, "shop")
    url = decoded(client, f"/producer/batches/{BOTTLES}/qr.png")
    assert url == f"{base_url(app)}/01/{GTINS['baijiu']}/10/PC0"
    assert "PC0" in opened(client, app, url)


@pytest.mark.parametrize(("user", "path"), list(NOT_THEIRS.values()), ids=list(NOT_THEIRS))
def test_another_orgs_user_is_refused_a_lots_labels(client, user, path) -> None:
    log_in(client, user)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", list(UNKNOWN.values()), ids=list(UNKNOWN))
def test_an_unknown_lot_serial_or_page_is_not_found(client, path) -> None:
    log_in(client, "distillery")
    assert client.get(path).status_code == 404


def test_labels_need_a_signed_in_producer(client) -> None:
    assert client.get(f"/producer/batches/{BOTTLES}/labels").status_code == 302
    assert client.get(f"/producer/batches/{BOTTLES}/qr.png").status_code == 302
    log_in(client, "regulator")
    assert client.get(f"/producer/batches/{BOTTLES}/labels").status_code == 403


# ---- under-cap codes ---------------------------------------------------------------------------

CAPS = "/producer/batches/bottles-caps/cap-labels"
CAP_CODE = re.compile(r'<p class="cap-code">([0-9A-Z]{5}-[0-9A-Z]{5})</p>')
CAP_QR = re.compile(r'<li class="label cap-label">\s*<img class="label-qr" src="([^"]+)"')


def _new_bottles(app: Flask, count: int = 3) -> list[str]:
    """A new lot of `count` bottles held by the distillery, serials commissioned and packed with the GTIN."""
    from farmtrace.services.transaction import Actor
    ledger, distillery = app.extensions["ledger"], Actor(org="pingchang-distillery")
    serials = [f"CAP{n:04d}" for n in range(1, count + 1)]
    ledger.append({"type": "create", "batch": "bottles-caps", "data": {
        "product": "平昌 巴山窖 试酒", "lot": "CAPLOT-1", "family": "baijiu", "quantity": str(count),
        "unit": "bottle"}}, actor=distillery)
    ledger.append({"type": "commissioned", "batch": "bottles-caps", "data": {
        "first_serial": serials[0], "last_serial": serials[-1], "count": str(count)}}, actor=distillery)
    ledger.append({"type": "packed", "batch": "bottles-caps", "data": {"gtin": GTINS["baijiu"], "units": str(count), "label": {
        "abv": "52", "abv_unit": "%vol", "warning": "过量饮酒有害健康", "sc": "SC11551192300012", "strength": "high"}}},
                  actor=distillery)
    return serials


def _issue(client: FlaskClient, path: str = CAPS):
    form = client.get(path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": CSRF.search(form).group(1)})  # type: ignore[union-attr]


def test_the_holder_prints_each_bottles_under_cap_code_once_and_it_marks_that_bottle_opened(app, client) -> None:
    serials = _new_bottles(app)
    log_in(client, "distillery")
    before = client.get(CAPS + "?lang=en")
    assert before.status_code == 200 and "0 of 3 serials have a code" in before.get_data(as_text=True)
    printed = _issue(client)
    assert printed.status_code == 200 and printed.headers["Cache-Control"] == "no-store"
    sheet = printed.get_data(as_text=True)
    codes = CAP_CODE.findall(sheet)
    sources = [s.replace("&amp;", "&") for s in CAP_QR.findall(sheet)]
    assert len(codes) == len(set(codes)) == 3 and sources == [f"/producer/batches/bottles-caps/serials/{s}/qr.png"
                                                              for s in serials]
    assert sheet.count('<p class="label-mark">') == 3

    anyone = app.test_client()  # the buyer's phone: no login
    for serial, code, source in zip(serials, codes, sources):
        url = decoded(client, source)
        assert url == f"{base_url(app)}/01/{GTINS['baijiu']}/21/{serial}"
        first = anyone.get(url[len(base_url(app)):] + "?lang=en")
        page = first.get_data(as_text=True)
        assert first.status_code == 200 and "Scanned 1 times by 1 phones from 1 places." in page
        assert 'id="opened"' in page and 'class="flags' not in page and code not in page
        action = re.search(r'<form method="post" action="([^"]+)"[^>]*id="opened"', page).group(1)  # type: ignore[union-attr]
        marked = anyone.post(action, data={"code": code.lower()})
        assert marked.status_code == 303, marked.get_data(as_text=True)

    again = _issue(client)  # not idempotent: the clear codes exist only in the first answer
    assert again.status_code == 409 and not CAP_CODE.search(again.get_data(as_text=True))
    assert "3 of 3 serials have a code" in client.get(CAPS + "?lang=en").get_data(as_text=True)

    # never on the outside labels, the lot's pages or the public pages
    outside = client.get("/producer/batches/bottles-caps/labels").get_data(as_text=True)
    public = [anyone.get(p).get_data(as_text=True) for p in (
        "/batches/bottles-caps", f"/01/{GTINS['baijiu']}/10/CAPLOT-1", f"/01/{GTINS['baijiu']}/21/{serials[0]}")]
    lot_page = client.get("/producer/batches/bottles-caps").get_data(as_text=True)
    for page in (outside, lot_page, *public):
        assert not any(code in page or code.replace("-", "") in page for code in codes)
    assert "label-mark" not in outside and "cap-code" not in outside


def test_a_big_lots_codes_are_issued_a_sheet_at_a_time(app, client, monkeypatch) -> None:
    from farmtrace.web.producer import labels
    monkeypatch.setattr(labels, "LABELS_PER_SHEET", 2)
    _new_bottles(app, 3)
    log_in(client, "distillery")
    first = _issue(client).get_data(as_text=True)
    assert len(CAP_CODE.findall(first)) == 2 and 'class="issue-codes"' in first
    second = _issue(client).get_data(as_text=True)
    assert len(CAP_CODE.findall(second)) == 1 and 'class="issue-codes"' not in second
    assert not set(CAP_CODE.findall(first)) & set(CAP_CODE.findall(second))


# id: (user, method): only the lot's holder sees or issues its cap codes
CAP_REFUSED = {
    "a producer of another org, looking": ("tea", "GET"),
    "a producer of another org, issuing": ("tea", "POST"),
    "the org that made the bottles and shipped them on": ("distillery", "POST"),
}


@pytest.mark.parametrize(("user", "method"), list(CAP_REFUSED.values()), ids=list(CAP_REFUSED))
def test_only_the_lots_holder_sees_or_issues_its_cap_codes(app, client, user, method) -> None:
    log_in(client, user)
    path = f"/producer/batches/{BOTTLES}/cap-labels"  # held by the shop, made by the distillery
    form = client.get("/producer/").get_data(as_text=True)
    token = CSRF.search(form)
    answer = client.get(path) if method == "GET" else client.post(path, data={"csrf_token": token.group(1) if token else ""})
    assert answer.status_code == 403 and not CAP_CODE.search(answer.get_data(as_text=True))
    assert client.get("/producer/batches/no-such-lot/cap-labels").status_code == 404


def test_the_holder_of_bottles_whose_codes_were_all_issued_is_told_they_cannot_be_shown_again(client) -> None:
    log_in(client, "shop")  # the demo issued every code of its bottles
    path = f"/producer/batches/{BOTTLES}/cap-labels"
    page = client.get(path + "?lang=en").get_data(as_text=True)
    assert "1000 of 1000 serials have a code" in page and 'class="issue-codes"' not in page
    refused = _issue(client, path)
    assert refused.status_code == 409 and "cannot be printed again" in refused.get_data(as_text=True)
    assert f'/producer/batches/{BOTTLES}/cap-labels"' in client.get(f"/producer/batches/{BOTTLES}/labels").get_data(as_text=True)


# ---- 承诺达标合格证 --------------------------------------------------------------------------------

# id: (user, batch, lot code, product, what the label must say, zh): the certificate issued as the lot left the farm
CERTIFICATES = {
    "a pig farm's live pigs": ("pigfarm", "pigs-qy-0", "QY-0", "青峪猪 生猪", ("头", "通江县 青峪镇", "HGZ-QY-0",
                                                                           "内部质量控制", "0827-7261004")),
    "a rice farm's paddy": ("rice", "paddy-nj-0-0", "NJP-0-0", "南江富硒稻谷", ("南江县 长赤镇", "HGZ-511922-00",
                                                                            "委托检测", "0827-8861001")),
}


@pytest.mark.parametrize(("user", "batch", "lot", "product", "words"), list(CERTIFICATES.values()),
                         ids=list(CERTIFICATES))
def test_a_certificate_label_shows_the_certificate_and_its_qr_opens_the_lots_certificate_page(
        app, client, user, batch, lot, product, words) -> None:
    from farmtrace.services.certificate import certificate_of
    log_in(client, user)
    answer = client.get(f"/producer/batches/{batch}/certificate-label?lang=zh_CN")
    assert answer.status_code == 200
    sheet = answer.get_data(as_text=True)
    cert = certificate_of(app.extensions["ledger"], batch).issued
    assert cert is not None
    assert sheet.count('<p class="cert-title">承诺达标合格证</p>') == 8
    for text in (cert.number, cert.product, lot, cert.issued, cert.issuer, cert.commitment, *words):
        assert text in sheet, text
    assert cert.product == product
    source = re.search(r'<img class="label-qr" src="(data:image/png;base64,[^"]+)"', sheet).group(1)  # type: ignore[union-attr]
    import base64
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))
    url = str(found[0].text)
    assert url == f"{base_url(app)}/batches/{batch}/certificate"
    page = opened(client, app, url)
    assert "承诺达标合格证" in page and lot in page and cert.product in page


def test_a_lot_with_no_certificate_issued_prints_no_certificate_labels(client) -> None:
    log_in(client, "rice")
    sheet = client.get("/producer/batches/plot-nj-0/certificate-label?lang=zh_CN").get_data(as_text=True)
    assert 'class="no-certificate"' in sheet and "cert-title" not in sheet


def test_only_edible_farm_produce_gets_a_certificate_label(client) -> None:
    log_in(client, "distillery")
    assert client.get("/producer/batches/blend-pc-0/certificate-label").status_code == 404
    assert "certificate-label" not in client.get("/producer/batches/blend-pc-0/labels").get_data(as_text=True)
    log_in(client, "tea")
    assert client.get("/producer/batches/pigs-qy-0/certificate-label").status_code == 403


# ---- where a scanned label leads --------------------------------------------------------------

# id: (user, the scanned path, where it leads)
SCANNED = {
    "a lot's Digital Link, our lot": ("distillery", f"/01/{GTINS['baijiu']}/10/PC0", "/producer/batches/bottles-pc-0"),
    "a bottle's Digital Link": ("shop", f"/01/{GTINS['baijiu']}/21/PC0000000007", "/producer/batches/bottles-pc-0"),
    "a certificate": ("rice", "/batches/plot-nj-0/certificate", "/producer/batches/plot-nj-0"),
    "another org's lot: the search for its code": ("tea", f"/01/{GTINS['baijiu']}/10/PC0", "/producer/?q=PC0"),
}


@pytest.mark.parametrize(("user", "path", "target"), list(SCANNED.values()), ids=list(SCANNED))
def test_a_scanned_labels_link_leads_to_its_lot(client, user, path, target) -> None:
    log_in(client, user)
    answer = client.get("/producer/scan", query_string={"link": path})
    assert answer.status_code == 303 and answer.headers["Location"] == target


def test_a_scanned_link_that_names_no_lot_is_not_found(client) -> None:
    log_in(client, "rice")
    for path in ("/01/06901234567892/10/NO-SUCH", "/p/notatokenatall", "/somewhere/else", ""):
        assert client.get("/producer/scan", query_string={"link": path}).status_code == 404, path
