"""Activity data and the emission-factor table (rules/carbon.py): every row names its source, factors are
chosen by date, grid and year, a new table version changes new results only, bad activity data is refused."""

from decimal import Decimal

import pytest

import farmtrace.rules.families  # noqa: F401  (registers every event type)
from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.events import EVENT_TYPES
from farmtrace.rules.carbon import (CHOICES, QUALIFIER, TABLE_FILE, UNITS_OF, event_emissions, factor_table,
                                    load_table)
from farmtrace.rules.declare import describe


def _kwh(amount="120", **more):
    return {"activity": [{"kind": "electricity", "amount": amount, "unit": "kWh", **more}]}


def test_every_factor_row_names_its_source_and_status() -> None:
    table = factor_table()
    assert len(table.rows) > 30
    for row in table.rows:
        assert row.source.strip(), row.row_id
        assert row.status in ("verified", "unverified"), row.row_id
    assert len({row.row_id for row in table.rows}) == len(table.rows)


def test_a_row_without_a_source_is_refused() -> None:
    header, first = TABLE_FILE.read_text(encoding="utf-8").splitlines()[:2]
    cells = first.split(",")
    broken = ",".join(cells[:9] + ['""', cells[-1]])
    with pytest.raises(ValueError, match="source"):
        load_table(header + "\n" + broken + "\n")


def test_every_kind_and_choice_has_a_factor_in_every_version() -> None:
    table = factor_table()
    for version, *_ in table.versions:
        for kind, units in UNITS_OF.items():
            keys = list(CHOICES[QUALIFIER[kind]])
            if kind == "transport":
                keys += [k + "_refrigerated" for k in keys]
            for key in keys:
                for unit in set(units.values()):
                    if kind == "fuel" and unit == "L" and key in ("natural_gas", "coal"):
                        continue  # gases and solids are weighed, not measured in litres
                    assert (version, kind, key, unit) in table.index, (version, kind, key, unit)


def test_the_milling_example_of_domain_md_in_sichuan() -> None:
    """domain.md §7: milling uses 120 kWh in 巴州区 → 120 × 0.1404 = 16.848 kg CO2 (2022 factor: a fallback)."""
    e = event_emissions("transform", "produce", _kwh(), "2026-09-01T08:00:00+08:00", province="51")
    assert e.kg_co2e == Decimal("16.848")
    (line,) = e.lines
    assert (line.key, line.factor, line.fallback, line.status) == ("sichuan", Decimal("0.1404"), True, "verified")
    assert e.estimate  # a fallback year


VERSIONS = {  # id: (event date, table version, national factor, data year, fallback)
    "before v2: the 2022 CO2 factor": ("2024-06-01", "v1", "0.5366", "2022", True),
    "v2: the 2023 carbon footprint factor": ("2025-03-01", "v2", "0.6205", "2023", True),
    "v3: the 2024 carbon footprint factor": ("2025-10-01", "v3", "0.5777", "2024", True),
    "v1 in its own data year": ("2022-05-01", "v1", "0.5366", "2022", False),
}


@pytest.mark.parametrize(("day", "version", "factor", "year", "fallback"), list(VERSIONS.values()), ids=list(VERSIONS))
def test_the_factor_is_chosen_by_the_events_date(day, version, factor, year, fallback) -> None:
    e = event_emissions("sell", None, _kwh("10"), f"{day}T10:00:00+08:00", province="50")
    (line,) = e.lines
    assert (line.table_version, line.factor, line.factor_row_id.endswith(year), line.fallback) == (
        version, Decimal(factor), True, fallback)


def test_a_new_table_version_changes_new_results_only() -> None:
    shipped = TABLE_FILE.read_text(encoding="utf-8")
    v4 = ("v4/electricity/national/kWh/2025,v4,2027-01-01,,electricity,national,kWh,0.5000,2025,"
          "a test version,unverified\n")
    newer = load_table(shipped + v4)
    old_event = ("sell", None, _kwh("100"), "2026-06-01T10:00:00+08:00")
    assert event_emissions(*old_event, province="50", table=newer) == event_emissions(*old_event, province="50")
    new = event_emissions("sell", None, _kwh("100"), "2027-02-01T10:00:00+08:00", province="50", table=newer)
    assert (new.kg_co2e, new.lines[0].table_version) == (Decimal("50.0000"), "v4")


def test_the_grid_follows_the_item_then_the_orgs_province() -> None:
    at = "2026-01-01T10:00:00+08:00"
    assert event_emissions("sell", None, _kwh(), at, province="51").lines[0].key == "sichuan"
    assert event_emissions("sell", None, _kwh(), at, province="11").lines[0].key == "national"
    assert event_emissions("sell", None, _kwh(), at, province=None).lines[0].key == "national"
    assert event_emissions("sell", None, _kwh(grid="southwest"), at, province="11").lines[0].key == "southwest"


def test_fertiliser_nitrogen_is_ipcc_tier_1_direct_n2o() -> None:
    """0.01 kg N2O-N per kg N × 44/28 × GWP 273 = 4.29 kg CO2e per kg N (unverified: an estimate)."""
    e = event_emissions("harvested", "produce", {"activity": [
        {"kind": "fertiliser", "amount": "10", "unit": "kg", "nutrient": "N"},
        {"kind": "refrigerant", "amount": "0.5", "unit": "KGM", "gas": "R134a"}]},
        "2026-01-01T10:00:00+08:00", province="51")
    assert [ln.kg_co2e for ln in e.lines] == [Decimal("42.90"), Decimal("765.0")]
    assert e.estimate


BAD = {  # id: (activity, field)
    "not a list": ("120 kWh", "data.activity"),
    "an empty list": ([], "data.activity"),
    "an unknown kind": ([{"kind": "steam", "amount": "1", "unit": "kg"}], "data.activity[0].kind"),
    "kWh in litres": ([{"kind": "electricity", "amount": "1", "unit": "LTR"}], "data.activity[0].unit"),
    "transport in km": ([{"kind": "transport", "amount": "1", "unit": "km", "mode": "road"}], "data.activity[0].unit"),
    "a negative amount": ([{"kind": "waste", "amount": "-1", "unit": "kg", "treatment": "compost"}],
                          "data.activity[0].amount"),
    "a number, not a string": ([{"kind": "waste", "amount": 1, "unit": "kg", "treatment": "compost"}],
                               "data.activity[0].amount"),
    "natural gas in litres: no table prices it so": (
        [{"kind": "fuel", "amount": "3", "unit": "L", "fuel": "natural_gas"}], "data.activity[0].unit"),
    "coal in litres": ([{"kind": "fuel", "amount": "3", "unit": "LTR", "fuel": "coal"}], "data.activity[0].unit"),
    "an unknown gas": ([{"kind": "refrigerant", "amount": "1", "unit": "kg", "gas": "R12"}], "data.activity[0].gas"),
    "an unknown field": ([{"kind": "feed", "amount": "1", "unit": "kg", "feed": "maize", "colour": "red"}],
                         "data.activity[0].colour"),
    "refrigerated not a boolean": ([{"kind": "transport", "amount": "1", "unit": "TKM", "mode": "road",
                                     "refrigerated": "yes"}], "data.activity[0].refrigerated"),
    "the second item": ([{"kind": "electricity", "amount": "1", "unit": "kWh"}, {"kind": "fuel"}],
                        "data.activity[1].amount"),
}


@pytest.mark.parametrize(("activity", "field"), list(BAD.values()), ids=list(BAD))
def test_bad_activity_data_is_refused_naming_its_field(activity, field) -> None:
    with pytest.raises(InvalidEventError) as refused:
        EVENT_TYPES["sell"].validate({"quantity": "1", "unit": "KGM", "activity": activity})
    assert refused.value.field == field
    assert "GB/T 24067-2024" in refused.value.message and refused.value.message_zh


def test_activity_is_accepted_on_a_familys_own_step_too() -> None:
    fed = {"feed": "配合饲料", "supplier": "巴中饲料厂", "lot": "F-1", "kg": "100", "additives": []}
    EVENT_TYPES["fed"].validate({**fed, "activity": [{"kind": "feed", "amount": "100", "unit": "kg",
                                                      "feed": "compound"}]})
    with pytest.raises(InvalidEventError) as refused:
        EVENT_TYPES["fed"].validate({**fed, "activity": [{"kind": "feed", "amount": "100", "unit": "LTR",
                                                          "feed": "compound"}]})
    assert refused.value.field == "data.activity[0].unit"


def test_activity_reads_in_words_on_pages() -> None:
    data = {"quantity": "1", "unit": "KGM", "activity": [
        {"kind": "electricity", "amount": "120", "unit": "kWh"},
        {"kind": "transport", "amount": "30.5", "unit": "TKM", "mode": "road", "refrigerated": True}]}
    zh = {s.name: s.value for s in describe("ship", data, "zh")}
    en = {s.name: s.value for s in describe("ship", data, "en")}
    assert zh["activity"] == "类别 电力 用量 120 千瓦时；类别 运输 用量 30.5 吨公里 运输方式 公路 冷藏 是"
    assert "Amount 30.5 t·km" in en["activity"] and "Mode road" in en["activity"]


def test_economic_allocation_needs_the_outputs_value() -> None:
    base = {"product": "后腿肉", "lot": "K-1", "family": "produce", "quantity": "10", "unit": "KGM",
            "process": "cutting", "inputs": [{"batch": "c1", "event": "a" * 64, "quantity": "10", "unit": "KGM"}]}
    EVENT_TYPES["transform"].validate({**base, "allocation": "economic", "value": "300"})
    EVENT_TYPES["transform"].validate({**base, "allocation": "mass"})
    for bad, field in (({"allocation": "economic"}, "data.value"), ({"allocation": "price"}, "data.allocation"),
                       ({"value": "300"}, "data.value"), ({"allocation": "economic", "value": "0"}, "data.value")):
        with pytest.raises(InvalidEventError) as refused:
            EVENT_TYPES["transform"].validate({**base, **bad})
        assert refused.value.field == field


def test_every_item_the_rules_accept_is_priced_on_every_day_so_no_page_fails() -> None:
    """Each kind × choice × unit `check_activity` lets through gets a factor (or a flagged fallback) from every
    table version: a footprint page never meets an item it cannot price."""
    from farmtrace.rules.carbon import CHOICES, KIND_WORDS, QUALIFIER, UNITS_OF, check_activity, event_emissions
    days = ["2020-01-01"] + [start.isoformat() for _v, start, _end in factor_table().versions] + ["2030-12-31"]
    accepted = 0
    for kind in KIND_WORDS:
        for choice in CHOICES[QUALIFIER[kind]]:
            for unit in UNITS_OF[kind]:
                item = {"kind": kind, "amount": "2", "unit": unit, QUALIFIER[kind]: choice}
                try:
                    check_activity({"activity": [item]}, "activity")
                except InvalidEventError:
                    continue
                accepted += 1
                for day in days:
                    for province in ("51", "11", None):
                        got = event_emissions("observe", None, {"activity": [item]}, day + "T08:00:00+08:00",
                                              province=province)
                        assert got.kg_co2e == 2 * got.lines[0].factor, (item, day)
    assert accepted >= 30
