"""Reading labels on the producer's home with the tablet camera, and printing the 承诺达标合格证 with a
CJK font, in Chromium at 768×1024.

Headless Chromium on Linux has no BarcodeDetector, so the real browser shows the typed-code fallback;
the camera path runs with a fake BarcodeDetector and a canvas stream injected before the page loads.
The URLs scanned are the ones the server prints on its label sheets."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from farmtrace.demo import GTINS
from tests.browser.conftest import LiveServer, assert_local_only, sign_in

# A BarcodeDetector that "sees" window.__scanned, and a camera that is a grey canvas.
FAKE_CAMERA = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
  constructor(options) { this.options = options; }
  async detect(source) {
    if (!(source instanceof HTMLVideoElement) || !source.srcObject) throw new TypeError("no video");
    return window.__scanned ? [{ rawValue: window.__scanned, format: "qr_code" }] : [];
  }
};
navigator.mediaDevices.enumerateDevices = async () => [{ kind: "videoinput", deviceId: "fake", label: "", groupId: "" }];
navigator.mediaDevices.getUserMedia = async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 48;
  canvas.getContext("2d").fillRect(0, 0, 64, 48);
  return canvas.captureStream(5);
};
"""
# Skia names a font in its descriptor (/FontName, also for the Type3 glyph sets it makes of CFF fonts) or /BaseFont.
CJK_FONT = re.compile(rb"/(?:BaseFont|FontName)\s*/(?:[A-Z]{6}\+)?(NotoSansCJK|NotoSerifCJK|SourceHanSans|WenQuanYi|NotoSansSC|DroidSansFallback)")


@pytest.fixture
def tablet(screens: Any) -> Any:
    return screens("tablet")


def _printed_links(page: Any, url: str, batch: str) -> list[str]:
    page.goto(f"{url}/producer/batches/{batch}/labels")
    return [str(t) for t in page.locator(".label-link").all_inner_texts()]


def test_without_barcode_detector_the_home_offers_the_typed_search_and_says_why(
        live_server: LiveServer, tablet: Any) -> None:
    sign_in(tablet, live_server.url, "distillery")
    assert tablet.evaluate("'BarcodeDetector' in window") is False
    status = tablet.locator("#scan-status")
    status.wait_for(state="visible")
    said = tablet.locator("#scan").get_attribute("data-text-unsupported")
    assert said and status.inner_text() == said
    assert tablet.locator("#scan-start").is_hidden() and tablet.locator("#q").is_visible()
    assert_local_only(tablet.seen)


def test_the_links_printed_on_labels_lead_to_their_lots(live_server: LiveServer, tablet: Any) -> None:
    url = live_server.url
    sign_in(tablet, url, "mill")
    lot_link = _printed_links(tablet, url, "rice-nj-0")[0]
    assert lot_link.endswith(f"/01/{GTINS['rice']}/10/NJR-0")
    tablet.goto(f"{url}/producer/")
    assert tablet.evaluate("(t) => farmtraceScan.targetFor(t)", lot_link) == "/producer/?q=NJR-0"
    for not_ours in ("https://example.com/", "WIFI:S:farm;;", "", f"{url}/producer/"):
        assert tablet.evaluate("(t) => farmtraceScan.targetFor(t)", not_ours) is None, not_ours

    sign_in(tablet, url, "distillery")
    bottle = _printed_links(tablet, url, "bottles-pc-0")[6]
    assert bottle.endswith(f"/01/{GTINS['baijiu']}/21/PC0000000007")
    sign_in(tablet, url, "rice")
    token = _printed_links(tablet, url, "plot-nj-0")[0]
    assert "/p/" in token
    sign_in(tablet, url, "distillery")
    target = tablet.evaluate("(t) => farmtraceScan.targetFor(t)", bottle)
    assert target == "/producer/scan?link=" + f"/01/{GTINS['baijiu']}/21/PC0000000007".replace("/", "%2F")
    tablet.goto(url + target)
    assert tablet.url == f"{url}/producer/batches/bottles-pc-0"
    sign_in(tablet, url, "rice")
    tablet.goto(url + tablet.evaluate("(t) => farmtraceScan.targetFor(t)", token))
    assert tablet.url == f"{url}/producer/batches/plot-nj-0"
    assert_local_only(tablet.seen)


@pytest.mark.parametrize("which", ["a lot's label", "a bottle's label"])
def test_a_label_read_by_the_camera_opens_its_lot(live_server: LiveServer, tablet: Any, which: str) -> None:
    url = live_server.url
    sign_in(tablet, url, "distillery")
    batch, index = ("bottles-pc-0", 0) if which == "a bottle's label" else ("blend-pc-0", 0)
    printed = _printed_links(tablet, url, batch)[index]
    tablet.add_init_script(FAKE_CAMERA + f"\nwindow.__scanned = {json.dumps(printed)};")
    tablet.goto(f"{url}/producer/")
    start = tablet.locator("#scan-start")
    start.wait_for(state="visible")
    assert start.inner_text() in ("扫描标签", "Scan a label")
    start.click()
    tablet.wait_for_url(f"{url}/producer/batches/{batch}")
    assert_local_only(tablet.seen)


def test_a_lot_code_read_by_the_camera_fills_the_search(live_server: LiveServer, tablet: Any) -> None:
    url = live_server.url
    sign_in(tablet, url, "shop")
    printed = _printed_links(tablet, url, "rice-nj-0")[0]
    tablet.add_init_script(FAKE_CAMERA + f"\nwindow.__scanned = {json.dumps(printed)};")
    tablet.goto(f"{url}/producer/")
    tablet.click("#scan-start")
    tablet.wait_for_url(f"{url}/producer/?q=NJR-0")
    assert tablet.locator("#q").input_value() == "NJR-0" and "NJR-0" in tablet.locator("main").inner_text()


def test_a_camera_refused_leaves_the_typed_search_with_a_message(live_server: LiveServer, tablet: Any) -> None:
    sign_in(tablet, live_server.url, "distillery")
    tablet.add_init_script(FAKE_CAMERA + """
navigator.mediaDevices.getUserMedia = async () => { throw new DOMException("denied", "NotAllowedError"); };""")
    tablet.goto(f"{live_server.url}/producer/")
    tablet.click("#scan-start")
    status = tablet.locator("#scan-status")
    status.wait_for(state="visible")
    assert status.inner_text() == tablet.locator("#scan").get_attribute("data-text-no-camera")
    assert tablet.locator("#scan-start").is_hidden() and tablet.url == f"{live_server.url}/producer/"


def test_the_certificate_label_prints_with_an_embedded_cjk_font(live_server: LiveServer, tablet: Any) -> None:
    sign_in(tablet, live_server.url, "pigfarm")
    tablet.goto(f"{live_server.url}/producer/batches/pigs-qy-0/certificate-label")
    assert tablet.locator(".cert-title").first.inner_text() == "承诺达标合格证"
    fc_list = shutil.which("fc-list")
    if fc_list is None or not subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True).stdout.strip():
        pytest.skip("no CJK font on this machine (Debian fonts-noto-cjk): the sheet relies on the system's "
                    "font, so whether its Chinese prints cannot be checked here")
    tablet.emulate_media(media="print")
    pdf = tablet.pdf(format="A4", print_background=True)
    fonts = {m.decode() for m in CJK_FONT.findall(pdf)}
    assert fonts, "the PDF embeds no CJK font: its Chinese would print as boxes"
