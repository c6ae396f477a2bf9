import pytest

from tests.web.test_account import log_in
from tests.web.test_consumer import BOTTLES


@pytest.mark.parametrize("user", ["regulator", "admin"])
def test_the_dashboard_shows_open_warnings_excursions_counterfeits_recalls_and_log_health(app, client, user) -> None:
    app.test_client().get(BOTTLES + "/21/PC0000009999")  # a serial never issued: a counterfeit pattern
    log_in(client, user)
    page = client.get("/desk/dashboard?lang=en").get_data(as_text=True)
    warnings = page[page.index('id="warnings"'):page.index('id="excursions"')]
    assert "Pigs and pork" in warnings and "巴中西部肉类食品加工园屠宰厂" in warnings  # the demo's warm reading, by family and org
    excursions = page[page.index('id="excursions"'):page.index('id="certificates"')]
    assert "5.1 °C" in excursions
    assert "PC0000009999" in page[page.index('id="counterfeit"'):page.index('id="recalls"')]
    recalls = page[page.index('id="recalls"'):page.index('id="log-health"')]
    assert "抽检复核" in recalls and "2 lots flagged" in recalls
    health = page[page.index('id="log-health"'):]
    assert "Latest checkpoint" in health and "Never run" in health


def test_the_dashboard_names_certificates_expired_or_expiring(client) -> None:
    log_in(client, "regulator")
    page = client.get("/desk/dashboard?lang=en").get_data(as_text=True)
    certificates = page[page.index('id="certificates"'):page.index('id="counterfeit"')]
    assert "Expired on 2026-06-30" in certificates  # the demo's geographic indication of one bottling run


def test_the_dashboard_shows_a_new_warning_in_chinese(app, client) -> None:
    from farmtrace.services.transaction import Actor
    ledger = app.extensions["ledger"]
    ledger.append({"type": "temperature_logged", "batch": "cuts-qy-0",  # the shop's chilled cuts, in its cold room
                   "data": {"device": "S-01", "probe": "air", "regime": "chilled", "unit": "CEL", "value": "9.5"}},
                  actor=Actor(org="bazhou-market"))
    log_in(client, "regulator")
    page = client.get("/desk/dashboard").get_data(as_text=True)
    assert "9.5 °C" in page and "冷鲜猪肉温度" in page


@pytest.mark.parametrize("path", ["/desk/dashboard", "/desk/verification", "/desk/exports"])
def test_producers_get_403_and_strangers_are_sent_to_log_in(client, path) -> None:
    assert client.get(path).status_code in (302, 303)
    log_in(client, "pigfarm")
    assert client.get(path).status_code == 403
