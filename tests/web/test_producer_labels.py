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
    for label in ("平昌 巴山窖 五年 52%vol 500mL", "批号", "序列号", "PC0000000001", "2026-03-13", "巴州区巴食巴适超市"):
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
