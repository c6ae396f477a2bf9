"""The producer app signed on the tablet and kept on it without signal, in Chromium at 768×1024.

A pig farm's tablet and a slaughterhouse's tablet each make their own Ed25519 key (WebCrypto,
non-extractable, in IndexedDB), an admin of each org registers it, and every step after that is
signed on the tablet: create, feed, ship; receive, slaughter (a transformation: consumes and the
new lot signed together), ship to a shop. The label sheet's QR codes, read by zxing-cpp from the
page as printed, open the lot's public page, which says which device signed each step; the outside
auditor (tests/auditor.py) replays the whole log from public data and finds nothing wrong.
Without signal (Playwright's offline mode) three steps wait in the tablet's queue and land once
each when it returns, also when the connection dies mid-sync after the server has written them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from farmtrace.services.devices import device_keys, revoke_device_key
from farmtrace.services.log import make_checkpoint
from farmtrace.services.transaction import Actor
from farmtrace.services.verify import verify_batch
from tests.auditor import audit as outside_audit
from tests.browser.conftest import LiveServer, serious, sign_in

zxingcpp = pytest.importorskip("zxingcpp")
pytest.importorskip("axe_playwright_python.sync_playwright")

FARM, SLAUGHTERHOUSE, SHOP, LAB = "qingyu-pig-farm", "bazhong-meat-park", "bazhou-market", "bazhong-testing"
SHELL_BUDGET = 150 * 1024  # bytes of the app shell before compression (issue "The producer app")


@pytest.fixture
def tablets(screens: Any) -> Any:
    """tablets(server, username, **context options): a signed-in tablet (768×1024) with its own IndexedDB and key."""
    def tablet(server: LiveServer, username: str, **options: Any) -> Any:
        page = screens("tablet", **{"service_workers": "allow", **options})
        sign_in(page, server.url, username)
        ready(page)
        return page
    return tablet


def ready(page: Any) -> None:
    """Wait until device.js has read the tablet's key and the org's registered devices."""
    page.wait_for_selector("#device-bar[data-ready]", state="attached")


def register(page: Any, server: LiveServer, label: str) -> str:
    page.goto(f"{server.url}/producer/device")
    ready(page)
    key = page.inner_text("#this-key")
    page.fill("#device-label", label)
    page.click("#register-device button")
    page.wait_for_selector(f"#this-state:has-text('{label}')")
    assert label in page.inner_text("#device-state")  # 在本平板（…）上签名
    return key


def fill(page: Any, fields: dict[str, str]) -> None:
    for name, value in fields.items():
        field = page.locator(f"[name='{name}']") if name.startswith("take-") else page.locator(f"#k_{name}")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def record(page: Any, path: str, fields: dict[str, str], *, server: LiveServer, done: str = "**/producer/batches/**") -> str:
    """Open a form, fill it, submit it; the batch id of the page it lands on."""
    page.goto(server.url + path)
    ready(page)
    fill(page, fields)
    page.click("form[data-record] button.primary")
    try:
        page.wait_for_url(done, timeout=10_000)
    except Exception as err:
        raise AssertionError(f"{path}: {page.inner_text('main')[:1500]}") from err
    ready(page)
    return str(page.url.split("/batches/")[1].split("?")[0]) if "/batches/" in page.url else ""


def events_of(server: LiveServer, batch: str) -> list[dict[str, Any]]:
    """A batch's event bodies in chain order, each with its `hash` added."""
    with server.ledger.uow() as uow:
        return [{**json.loads(e.canonical), "hash": e.hash} for e in uow.events_of_batch(batch)]


def new_pigs(page: Any, server: LiveServer, lot: str) -> str:
    return record(page, "/producer/new?family=pork&type=animal_tagged", {
        "product": "青峪猪 生猪", "lot": lot, "quantity": "2", "tags": "151192100000301\n151192100000302",
        "birth_or_arrival": "2026-01-10", "breed": "青峪猪"}, server=server, done="**made=1")


def test_a_pig_lot_goes_from_farm_to_shop_signed_on_two_tablets_and_the_outside_auditor_agrees(
        fresh_server: LiveServer, tablets: Any) -> None:
    server = fresh_server
    farm = tablets(server, "pigfarm-admin")
    farm_key = register(farm, server, "猪场平板 1 号")
    pigs = new_pigs(farm, server, "QY-TAB-1")
    for kind, fields in (("fed", {"feed": "玉米豆粕", "supplier": "通江饲料厂", "lot": "F-01", "kg": "120",
                                  "additives": "无"}),
                         ("quarantined", {"certificate_no": "5100000000999", "issuer": "通江县动物卫生监督所",
                                          "head": "2", "tags": "151192100000301\n151192100000302"}),
                         ("ship", {"to": SLAUGHTERHOUSE, "quantity": "2", "unit": "head",
                                   "certificate_no": "HGZ-TAB-1"})):
        record(farm, f"/producer/batches/{pigs}/record/{kind}", fields, server=server, done=f"**recorded={kind}")
    assert farm.locator(".this-device:visible").count() == 4  # every step on the lot page: 本设备签名

    meat = tablets(server, "meat-admin")
    meat_key = register(meat, server, "屠宰车间平板")
    meat.goto(f"{server.url}/producer/incoming/{pigs}")
    unreadable = {"receive (768 px)": serious(meat)}
    meat.set_viewport_size({"width": 360, "height": 740})
    unreadable["receive (360 px)"] = serious(meat)
    meat.set_viewport_size({"width": 768, "height": 1024})
    record(meat, f"/producer/incoming/{pigs}", {"quantity": "2", "certificate_no": "HGZ-TAB-1", "live_weight": "230"},
           server=server, done="**recorded=receive")
    record(meat, f"/producer/batches/{pigs}/record/sample", {"lab": LAB, "sample_id": "A-TAB-1"},
           server=server, done="**recorded=sample")
    sample = events_of(server, pigs)[-1]["hash"]
    for analyte, method, lod, unit, report in (("ASFV", "GB/T 18648-2020", "10", "copies/µL", "ASF-TAB-1"),
                                               ("克伦特罗", "GB/T 22286-2008", "0.1", "µg/kg", "BA-TAB-1")):
        server.ledger.append({"type": "test", "batch": pigs, "data": {  # the lab's own record (its app or the API)
            "sample": sample, "analyte": analyte, "method": method, "value": None,
            "lod": lod, "unit": unit, "report_no": report}}, actor=Actor(LAB))
    carcass = record(meat, "/producer/transform", {f"take-{pigs}": "2", "product": "青峪猪 白条", "lot": "C-TAB-1",
                                                   "quantity": "180", "unit": "KGM", "process": "slaughter",
                                                   "asf_reports": "ASF-TAB-1"}, server=server, done="**made=1")
    record(meat, f"/producer/batches/{carcass}/record/inspected", {
        "stage": "post-mortem", "quarantine_certificate": "QHGZ-TAB-1", "quality_certificate": "RP-TAB-1"},
        server=server, done="**recorded=inspected")
    record(meat, f"/producer/batches/{carcass}/record/ship", {"to": SHOP, "quantity": "180", "unit": "KGM"},
           server=server, done="**recorded=ship")

    signers = {e["type"]: e["key"] for e in events_of(server, pigs)}
    assert signers["animal_tagged"] == signers["fed"] == signers["ship"] == farm_key
    assert signers["receive"] == signers["sample"] == signers["consume"] == meat_key
    assert [e["key"] for e in events_of(server, carcass)] == [meat_key] * 3  # transform, inspected, ship
    consumed = next(e for e in events_of(server, pigs) if e["type"] == "consume")
    made = events_of(server, carcass)[0]
    assert made["data"]["inputs"][0]["event"] == consumed["hash"]
    with server.ledger.uow() as uow:
        assert uow.batch(pigs).status == "consumed" and uow.batch(carcass).quantity == "180"  # type: ignore[union-attr]

    # The label sheet as printed: every QR code on it opens the carcass lot's public page
    for sheet in ("certificate-label", "labels"):
        meat.goto(f"{server.url}/producer/batches/{carcass}/{sheet}")
        meat.wait_for_load_state("networkidle")
        unreadable[f"{sheet} (768 px)"] = serious(meat)
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(meat.screenshot(full_page=True))))
    assert codes and all(c.format == zxingcpp.BarcodeFormat.QRCode for c in codes)
    base = str(server.app.config["FARMTRACE"].base_url)
    for url in {c.text for c in codes}:
        assert url.startswith(base + "/"), url
        meat.goto(server.url + url[len(base):])
        assert "C-TAB-1" in meat.inner_text("main"), url
    meat.goto(f"{server.url}/batches/{carcass}")
    assert meat.locator(".signer:has-text('屠宰车间平板')").count() == 3
    meat.goto(f"{server.url}/batches/{pigs}")
    page = meat.inner_text("main")
    assert page.count("由设备“猪场平板 1 号”签名") == 4 and "由设备“屠宰车间平板”签名" in page

    meat.set_viewport_size({"width": 360, "height": 740})
    for sheet in ("labels", "certificate-label"):
        meat.goto(f"{server.url}/producer/batches/{carcass}/{sheet}")
        unreadable[f"{sheet} (360 px)"] = serious(meat)
    assert not {name: found for name, found in unreadable.items() if found}, unreadable

    with server.ledger.uow() as uow:
        assert all(check.ok for b in (pigs, carcass) for check in verify_batch(uow, b))
    make_checkpoint(server.ledger, force=True)
    seen = outside_audit(server.url)
    assert seen.ok, seen.invalid
    assert seen.keys[farm_key]["org"] == FARM and seen.keys[meat_key]["org"] == SLAUGHTERHOUSE


def observe(page: Any, server: LiveServer, batch: str, step: str, *, done: str) -> None:
    """Record a plain observation on a lot (its form may come from the service worker)."""
    page.goto(f"{server.url}/producer/batches/{batch}/record/observe")
    ready(page)
    fill(page, {"step": step})
    page.click("form[data-record] button.primary")
    page.wait_for_url(done)
    ready(page)


def shell_bytes(page: Any) -> int:
    """Bytes (before compression) of what the service worker keeps as the app shell."""
    return int(page.evaluate("""async () => {
        const shell = await caches.open("farmtrace-shell-v1");
        let n = 0;
        for (const req of await shell.keys()) n += (await (await shell.match(req)).arrayBuffer()).byteLength;
        return n;
    }"""))


def controlled(page: Any) -> None:
    """Wait until the service worker controls the page (it claims clients when it activates)."""
    for _ in range(50):
        if page.evaluate("Boolean(navigator.serviceWorker.controller)"):
            return
        page.wait_for_timeout(100)
        page.reload()
        ready(page)
    raise AssertionError("the service worker never took control")


def test_three_steps_recorded_without_signal_land_exactly_once_when_it_returns(
        fresh_server: LiveServer, tablets: Any) -> None:
    server = fresh_server
    farm = tablets(server, "pigfarm-admin")
    key = register(farm, server, "猪场平板 2 号")
    pigs = new_pigs(farm, server, "QY-OFF-1")
    controlled(farm)
    for seen in ("/producer/", f"/producer/batches/{pigs}"):  # seen online: kept, with the lot's forms
        farm.goto(server.url + seen)
        ready(farm)
    farm.wait_for_load_state("networkidle")
    assert shell_bytes(farm) <= SHELL_BUDGET
    before = server.ledger.row_counts()

    farm.context.set_offline(True)
    farm.goto(f"{server.url}/producer/")  # the shell loads from the service worker, no network
    ready(farm)
    assert "QY-OFF-1" in farm.inner_text("main") and farm.is_visible("#net-state")
    for n in (1, 2, 3):
        observe(farm, server, pigs, f"离线巡查 {n}", done="**queued=1")
        assert farm.inner_text("#queue-count") == str(n)
    assert server.ledger.row_counts() == before  # nothing reached the server
    farm.goto(f"{server.url}/producer/queue")
    ready(farm)
    assert farm.locator("#queue-list li[data-status=queued]").count() == 3

    farm.context.set_offline(False)  # the `online` event starts the sync
    farm.wait_for_selector("#queue-count:text-is('0')")
    farm.wait_for_selector("#queue-empty:visible")
    steps = [e for e in events_of(server, pigs) if e["type"] == "observe"]
    assert [e["data"]["step"] for e in steps] == ["离线巡查 1", "离线巡查 2", "离线巡查 3"]
    assert {e["key"] for e in steps} == {key}
    with server.ledger.uow() as uow:
        assert all(check.ok for check in verify_batch(uow, pigs))
    farm.evaluate("FarmtraceDevice.syncAll()")  # once more: nothing is left to send twice
    assert len([e for e in events_of(server, pigs) if e["type"] == "observe"]) == 3

    farm.click("form[action$='/logout'] button")  # the next person on this tablet sees none of these pages
    farm.wait_for_url(f"{server.url}/")
    assert farm.evaluate("caches.keys()") == []


def test_a_sync_whose_answers_are_lost_after_the_server_wrote_still_lands_exactly_once(
        fresh_server: LiveServer, tablets: Any) -> None:
    server = fresh_server
    farm = tablets(server, "pigfarm-admin", service_workers="block")  # so that routes see the posts
    register(farm, server, "猪场平板 3 号")
    pigs = new_pigs(farm, server, "QY-CUT-1")
    written: list[int] = []

    def cut_after_writing(route: Any) -> None:
        try:
            answer = route.fetch()  # the server writes, then the connection dies before the answer arrives
            written.append(answer.status)
            route.abort("connectionreset")
        except Exception:  # noqa: BLE001 (the page navigated away meanwhile: Playwright dropped the request)
            pass

    farm.route("**/producer/sync", cut_after_writing)
    for n in (1, 2, 3):
        observe(farm, server, pigs, f"断线 {n}", done="**queued=1")
    assert 201 in written and set(written) <= {200, 201}  # written, then cut; each page load retries: 200
    assert farm.inner_text("#queue-count") == "3"  # the tablet does not know they landed
    landed = [e["id"] for e in events_of(server, pigs) if e["type"] == "observe"]
    assert len(landed) == 3

    farm.evaluate("FarmtraceDevice.syncAll()")  # mid-sync the connection is cut again
    farm.unroute("**/producer/sync")
    farm.evaluate("FarmtraceDevice.syncAll()")
    farm.wait_for_selector("#queue-count:text-is('0')")
    assert [e["id"] for e in events_of(server, pigs) if e["type"] == "observe"] == landed  # each once


def test_a_step_signed_after_someone_else_recorded_shows_the_conflict_and_is_re_signed_after_theirs(
        fresh_server: LiveServer, tablets: Any) -> None:
    server = fresh_server
    farm = tablets(server, "pigfarm-admin", service_workers="block")
    register(farm, server, "猪场平板 4 号")
    pigs = new_pigs(farm, server, "QY-CON-1")
    farm.route("**/producer/sync", lambda route: route.abort("internetdisconnected"))
    observe(farm, server, pigs, "平板上的巡查", done="**queued=1")
    server.ledger.append({"type": "observe", "batch": pigs, "data": {"step": "办公室补录"}},
                         actor=Actor(FARM, "pigfarm"))  # someone else, first
    farm.unroute("**/producer/sync")
    farm.goto(f"{server.url}/producer/queue")
    ready(farm)
    conflict = farm.locator("#queue-list li[data-status=conflict]")
    conflict.wait_for()
    assert "他人已先在该批次上录入了新记录" in conflict.inner_text()
    conflict.locator("button.primary").click()  # 接在其后重新签名
    farm.wait_for_selector("#queue-count:text-is('0')")
    assert [e["data"]["step"] for e in events_of(server, pigs) if e["type"] == "observe"] == ["办公室补录", "平板上的巡查"]
    with server.ledger.uow() as uow:
        assert all(check.ok for check in verify_batch(uow, pigs))


def test_a_revoked_tablets_queued_step_is_refused_and_what_it_signed_before_still_verifies(
        fresh_server: LiveServer, tablets: Any) -> None:
    server = fresh_server
    farm = tablets(server, "pigfarm-admin", service_workers="block")
    key = register(farm, server, "猪场平板 5 号")
    pigs = new_pigs(farm, server, "QY-REV-1")
    farm.route("**/producer/sync", lambda route: route.abort("internetdisconnected"))
    observe(farm, server, pigs, "吊销前签的", done="**queued=1")
    revoke_device_key(server.ledger, FARM, key, by_user=None, reason="compromise")  # the tablet was lost
    before = server.ledger.row_counts()
    farm.unroute("**/producer/sync")
    farm.goto(f"{server.url}/producer/queue")
    ready(farm)
    refused = farm.locator("#queue-list li[data-status=refused]")
    refused.wait_for()
    assert server.ledger.row_counts() == before
    assert "吊销" in farm.inner_text("#device-state")  # 本平板的密钥已被吊销
    assert [k.is_revoked for k in device_keys(server.ledger, FARM)] == [True]
    with server.ledger.uow() as uow:
        checks = verify_batch(uow, pigs)
    assert checks[0].key == key and all(c.ok for c in checks)  # signed before the revocation: still verifies


def test_a_refused_step_signed_on_the_tablet_shows_its_error_beside_the_field_and_writes_nothing(
        fresh_server: LiveServer, tablets: Any) -> None:
    server = fresh_server
    farm = tablets(server, "pigfarm-admin", service_workers="block")
    register(farm, server, "猪场平板 6 号")
    before = server.ledger.row_counts()
    farm.goto(f"{server.url}/producer/new?family=pork&type=animal_tagged")
    ready(farm)
    fill(farm, {"product": "青峪猪 生猪", "lot": "QY-BAD-1", "quantity": "two", "tags": "151192100000301",
                "birth_or_arrival": "2026-01-10", "breed": "青峪猪"})
    farm.click("form[data-record] button.primary")
    error = farm.locator("#k_quantity-error")
    error.wait_for()
    assert "头数" in error.inner_text() and farm.get_attribute("#k_quantity", "aria-invalid") == "true"
    assert farm.locator(".error-summary").count() == 1
    assert server.ledger.row_counts() == before


ACTIVITY_SHOT = Path(__file__).parents[2] / "docs" / "screenshots" / "producer-activity-360.png"
FED_FIELDS = {"feed": "玉米豆粕", "supplier": "通江饲料厂", "lot": "F-ACT", "kg": "120", "additives": "无"}


def open_activity(page: Any) -> None:
    """Open the collapsed carbon fieldset (a <details>) so its rows can be filled."""
    if not page.evaluate("document.querySelector('details.activity').open"):
        page.click("details.activity summary")


def server_form_data(server: LiveServer, posted: dict[str, str]) -> dict[str, Any]:
    """What the server's own form makes of the same posted fields (forms.form_data), for a pork `fed`."""
    from farmtrace.rules.declare import kdes_of
    from farmtrace.web.producer.forms import build_form, entered, form_data

    kdes = entered(kdes_of("fed", "pork"))
    with server.app.test_request_context("/", method="POST", data=posted):
        from flask import request
        return form_data(build_form(kdes, "zh_CN", formdata=request.form), kdes)


def test_activity_data_signed_on_the_tablet_offline_equals_what_the_servers_form_makes(
        fresh_server: LiveServer, tablets: Any) -> None:
    """Issue 16: the tablet builds `activity` from the rows exactly as forms.form_data does (empty rows left
    out, amounts as typed less spaces), signs it offline, and it lands as such; a bad amount is refused
    beside its row; the form with its fieldset open reads well at 360 px."""
    server = fresh_server
    farm = tablets(server, "pigfarm-admin")
    key = register(farm, server, "猪场平板 7 号")
    pigs = new_pigs(farm, server, "QY-ACT-TAB")
    controlled(farm)
    for seen in ("/producer/", f"/producer/batches/{pigs}"):  # seen online: the step forms are kept
        farm.goto(server.url + seen)
        ready(farm)
    farm.wait_for_load_state("networkidle")
    form = f"/producer/batches/{pigs}/record/fed"

    before = server.ledger.row_counts()  # refused on the tablet's own send: beside the row, nothing written
    farm.goto(server.url + form)
    ready(farm)
    assert not farm.evaluate("document.querySelector('details.activity').open")  # collapsed by default
    open_activity(farm)
    fill(farm, {**FED_FIELDS, "activity_1_what": "fuel:diesel:L", "activity_1_amount": "12,5"})
    farm.click("form[data-record] button.primary")
    error = farm.locator("#k_activity_1_amount-error")
    error.wait_for()
    assert "十进制数字" in error.inner_text() and "data." not in error.inner_text()
    assert farm.get_attribute("#k_activity_1_amount", "aria-invalid") == "true"
    assert server.ledger.row_counts() == before

    farm.set_viewport_size({"width": 360, "height": 740})  # the form, fieldset open, on a phone-sized screen
    farm.goto(server.url + form)
    ready(farm)
    open_activity(farm)
    fill(farm, {"activity_0_what": "electricity:sichuan:kWh", "activity_0_amount": "12.5",
                "activity_1_what": "fuel:diesel:L", "activity_1_amount": "3",
                "activity_2_what": "transport:road_refrigerated:TKM", "activity_2_amount": "4.8"})
    assert not serious(farm)
    assert farm.evaluate("document.documentElement.scrollWidth") <= 360  # nothing sideways
    farm.locator("details.activity").screenshot(path=str(ACTIVITY_SHOT))
    farm.set_viewport_size({"width": 768, "height": 1024})

    farm.context.set_offline(True)
    farm.goto(server.url + form)  # from the service worker
    ready(farm)
    open_activity(farm)
    fill(farm, {**FED_FIELDS, "activity_0_what": "electricity:sichuan:kWh", "activity_0_amount": " 12.50 ",
                "activity_2_what": "transport:road_refrigerated:TKM", "activity_2_amount": "3.2"})
    posted = farm.evaluate("Object.fromEntries(new FormData(document.querySelector('form[data-record]')))")
    farm.click("form[data-record] button.primary")
    farm.wait_for_url("**queued=1")
    assert server.ledger.row_counts() == before
    farm.context.set_offline(False)  # the `online` event starts the sync
    farm.wait_for_selector("#queue-count:text-is('0')")

    fed = events_of(server, pigs)[-1]
    assert fed["type"] == "fed" and fed["key"] == key
    assert fed["data"]["activity"] == [
        {"kind": "electricity", "unit": "kWh", "grid": "sichuan", "amount": "12.50"},
        {"kind": "transport", "unit": "TKM", "mode": "road", "refrigerated": True, "amount": "3.2"}]
    assert fed["data"] == server_form_data(server, posted)  # the whole data, not only the activity
    with server.ledger.uow() as uow:
        assert all(check.ok for check in verify_batch(uow, pigs))
