"""The public 承诺达标合格证 page shows the certificate as issued (its signed event), a recall beside it,
says so when none was issued, and offers none for baijiu or water."""

import pytest

# id: (batch, what the page must show, what it must not)
PAGES = {
    "paddy: the certificate issued as it left the farm": (
        "paddy-nj-0-0", ("HGZ-511922-00", "南江富硒稻谷", "南江县 长赤镇", "南江县富硒稻米专业合作社", "0827-8861001",
                         "委托检测", "承诺达标合格证"), ("no-certificate", 'class="recall"')),
    "live pigs: counted in head, from 通江县 青峪镇": (
        "pigs-qy-0", ("HGZ-QY-0", "青峪猪 生猪", "头", "通江县 青峪镇", "通江县青峪猪生态养殖场", "内部质量控制"),
        ("no-certificate", "巴中西部肉类食品加工园屠宰厂")),
    "recalled paddy: the recall shows on the certificate": (
        "paddy-nj-1-0", ("HGZ-511922-10", 'class="recall"', "镉含量存疑"), ("no-certificate",)),
    "a plot: none issued, and the page says so": ("plot-nj-0", ('class="no-certificate"',), ("cert-commitment", "<table")),
    "baijiu: a licensed processed food gets none": ("bottles-pc-0", ('class="no-certificate"', "SC"), ("<table",)),
}


@pytest.mark.parametrize(("batch", "shown", "absent"), list(PAGES.values()), ids=list(PAGES))
def test_the_certificate_page_shows_what_was_issued(client, batch, shown, absent) -> None:
    answer = client.get(f"/batches/{batch}/certificate?lang=zh_CN")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    for text in shown:
        assert text in page, text
    for text in absent:
        assert text not in page, text


def test_the_footer_makes_no_green_or_low_carbon_claim(client) -> None:
    page = client.get("/batches/bottles-pc-0/certificate?lang=zh_CN").get_data(as_text=True)
    footer = page.split("<footer>", 1)[1].split("</footer>", 1)[0]
    assert "低碳" not in footer and "绿色" not in footer and "low-carbon" not in footer


def test_the_producer_issues_it_from_the_lot_page_with_the_lots_own_values_proposed(app, client) -> None:
    from farmtrace.services.transaction import Actor
    from tests.web.test_producer_labels import log_in
    ledger = app.extensions["ledger"]
    ledger.append({"type": "create", "batch": "leaf-web", "data": {
        "product": "南江茶鲜叶", "lot": "LEAF-W", "family": "produce", "quantity": "300", "unit": "KGM",
        "place": "南江县 长赤镇 茶园"}}, actor=Actor(org="nanjiang-se-rice"))
    log_in(client, "rice")
    assert "/record/certificate_issued" in client.get("/producer/batches/leaf-web").get_data(as_text=True)
    form = client.get("/producer/batches/leaf-web/record/certificate_issued?lang=zh_CN").get_data(as_text=True)
    for proposed in ('value="南江茶鲜叶"', 'value="300"', 'value="长赤镇"', 'value="0827-8861001"', 'value="HGZ-LEAF-W"'):
        assert proposed in form, proposed
    import re
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    data = {"certificate_no": "HGZ-LEAF-W", "product": "南江茶鲜叶", "quantity": "300", "unit": "KGM",
            "county": "511922", "town": "长赤镇", "contact_phone": "0827-8861001", "basis": "quality_control"}
    if token:
        data["csrf_token"] = token.group(1)
    answer = client.post("/producer/batches/leaf-web/record/certificate_issued", data=data)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    page = client.get("/batches/leaf-web/certificate?lang=zh_CN").get_data(as_text=True)
    assert "HGZ-LEAF-W" in page and "南江县 长赤镇" in page
    again = client.post("/producer/batches/leaf-web/record/certificate_issued", data=data)
    assert again.status_code == 422 and "农业农村部令 2025 年第 4 号" in again.get_data(as_text=True)
