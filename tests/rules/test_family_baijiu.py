from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from farmtrace.ledger import events
from farmtrace.ledger.errors import InvalidEventError
from farmtrace.rules.declare import EXTRA_KDES, Declaration, Kde, Said, Shown, describe
from farmtrace.rules.families import BatchState, Proposal, rules_for
from farmtrace.rules.families import baijiu

CST = timezone(timedelta(hours=8))
H = "cd" * 32  # any event hash


def dt(year: int, month: int, day: int, hour: int = 8) -> datetime:
    return datetime(year, month, day, hour, tzinfo=CST)


ORGS = {"distillery": "processor", "shop": "retailer", "lab": "lab"}
LABEL = {"abv": "52", "abv_unit": "%vol", "warning": "过量饮酒有害健康", "sc": "SC11551192300012", "strength": "high",
         "age_claim": "5"}

# Two base liquors aged since 2019, blended and bottled in 2026: (step, batch, type, org, time, data, input batches)
STORY: list[tuple[str, str, str, str, datetime, dict[str, Any], tuple[str, ...]]] = [
    ("grains", "grains", "create", "distillery", dt(2019, 9, 1), {
        "product": "浓香型酒醅", "lot": "JP-1909-07", "family": "baijiu", "quantity": "8000", "unit": "KGM"}, ()),
    ("fermented", "grains", "fermented", "distillery", dt(2019, 10, 20), {
        "pit": "P-07", "pit_age": "32", "round": "3", "grain_lots": ["GL-1908-01"], "qu_lots": ["Q-1907-02"],
        "kg": "8000", "sealed": "2019-09-01", "opened": "2019-10-20"}, ()),
    ("distil a", "base-a", "transform", "distillery", dt(2019, 10, 21), {
        "product": "基酒 一级", "lot": "BA-1910-21", "family": "baijiu", "quantity": "300", "unit": "LTR",
        "process": "distillation", "abv": "65", "inputs": [{"batch": "grains", "event": H, "quantity": "4000",
                                                              "unit": "KGM"}]}, ("grains",)),
    ("distil b", "base-b", "transform", "distillery", dt(2019, 10, 22), {
        "product": "基酒 二级", "lot": "BB-1910-22", "family": "baijiu", "quantity": "200", "unit": "LTR",
        "process": "distillation", "abv": "55", "inputs": [{"batch": "grains", "event": H, "quantity": "4000",
                                                              "unit": "KGM"}]}, ("grains",)),
    ("age a", "base-a", "stored", "distillery", dt(2019, 11, 5), {
        "vessel": "陶坛 T-101", "start": "2019-11-05", "volume": "300", "abv": "65"}, ()),
    ("age b", "base-b", "stored", "distillery", dt(2019, 11, 5), {
        "vessel": "陶坛 T-102", "start": "2019-11-05", "volume": "200", "abv": "55"}, ()),
    ("blend", "blend", "transform", "distillery", dt(2026, 3, 10), {
        "product": "巴山窖 五年", "lot": "BL-2603-10", "family": "baijiu", "quantity": "586.5", "unit": "LTR",
        "process": "blending", "abv": "52", "water": "100", "recipe": "R-5Y", "age_claim": "5",
        "inputs": [{"batch": "base-a", "event": H, "quantity": "300", "unit": "LTR", "abv": "65"},
                   {"batch": "base-b", "event": H, "quantity": "200", "unit": "LTR"}]}, ("base-a", "base-b")),
    ("ethanol test", "blend", "test", "lab", dt(2026, 3, 11), {
        "sample": H, "analyte": "酒精度", "method": "GB 5009.225-2016", "value": "52.1", "unit": "%vol",
        "report_no": "BJ-0311-1"}, ()),
    ("methanol test", "blend", "test", "lab", dt(2026, 3, 11), {
        "sample": H, "analyte": "甲醇", "method": "GB 5009.266-2016", "value": "0.15", "unit": "g/L",
        "report_no": "BJ-0311-2"}, ()),
    ("cyanide test", "blend", "test", "lab", dt(2026, 3, 11), {
        "sample": H, "analyte": "氰化物", "method": "GB 5009.36-2016", "value": "1.2", "unit": "mg/L",
        "report_no": "BJ-0311-3"}, ()),
    ("lead test", "blend", "test", "lab", dt(2026, 3, 11), {
        "sample": H, "analyte": "铅", "method": "GB 5009.12-2017", "value": "0.05", "unit": "mg/kg",
        "report_no": "BJ-0311-4"}, ()),
    ("bottling", "bottles", "transform", "distillery", dt(2026, 3, 12), {
        "product": "巴山窖 五年 500mL", "lot": "B2603121", "family": "baijiu", "quantity": "1000", "unit": "bottle",
        "process": "bottling", "bottle_ml": "500", "line": "L2", "age_claim": "5",
        "inputs": [{"batch": "blend", "event": H, "quantity": "500", "unit": "LTR"}]}, ("blend",)),
    ("commission 1", "bottles", "commissioned", "distillery", dt(2026, 3, 12, 10), {
        "first_serial": "PC2603120000001", "last_serial": "PC2603120000600", "count": "600"}, ()),
    ("commission 2", "bottles", "commissioned", "distillery", dt(2026, 3, 12, 11), {
        "first_serial": "PC2603120000601", "last_serial": "PC2603120001000", "count": "400"}, ()),
    ("bottle test", "bottles", "test", "lab", dt(2026, 3, 12, 14), {
        "sample": H, "analyte": "ethanol", "method": "GB 5009.225-2016", "value": "51.6", "unit": "%vol",
        "report_no": "BJ-0312-1"}, ()),
    ("pack", "bottles", "packed", "distillery", dt(2026, 3, 13), {
        "gtin": "06901234567885", "units": "1000", "case_of": "6", "label": LABEL}, ()),
    ("ship", "bottles", "ship", "distillery", dt(2026, 3, 14), {
        "to": "shop", "quantity": "1000", "unit": "bottle", "doc": "DN-0314-02"}, ()),
    ("receive", "bottles", "receive", "shop", dt(2026, 3, 15), {"ship": H, "quantity": "1000", "unit": "bottle"}, ()),
    ("sell", "bottles", "sell", "shop", dt(2026, 3, 16), {"quantity": "6", "unit": "bottle"}, ()),
]


def _changed(data: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for key, value in change.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _changed(out[key], value)
        elif value is None and key != "value":
            out.pop(key, None)
        else:
            out[key] = value
    return out


def story(changes: Mapping[str, Mapping[str, Any]] | None = None) -> Iterator[tuple[str, Proposal]]:
    """Each step's Proposal, with `changes` applied (None deletes a key; nested labels merge)."""
    histories: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, batch, kind, org, when, data, inputs in STORY:
        data = _changed(data, (changes or {}).get(name, {}))
        history = histories[batch]
        genesis = history[0]["data"] if history else None
        state = None if genesis is None else BatchState(
            batch, "baijiu", genesis["product"], genesis["lot"], org, Decimal(genesis["quantity"]), genesis["unit"],
            "held")
        yield name, Proposal(kind, data, when, org, ORGS[org], state, tuple(history),
                             {b: tuple(histories[b]) for b in inputs})
        history.append({"type": kind, "batch": batch, "org": org, "at": when.isoformat(), "data": data})


def proposal_at(step: str, changes: Mapping[str, Mapping[str, Any]] | None = None) -> Proposal:
    return next(p for name, p in story(changes) if name == step)


def findings(p: Proposal, rules: Sequence[Any]) -> dict[str, str]:
    return {rule.id: message for rule in rules if p.type in rule.applies_to and (message := rule.check(p))}


def test_the_module_exposes_the_family_contract() -> None:
    family = rules_for("baijiu")
    assert family.name == baijiu.FAMILY == "baijiu"
    assert family.judge_test is baijiu.judge_test
    assert {kind.name for kind in baijiu.EVENT_TYPES} == {"fermented", "commissioned"}
    assert all(kind.family == "baijiu" and not kind.genesis and events.EVENT_TYPES[kind.name] is kind
               for kind in baijiu.EVENT_TYPES)
    ids = [rule.id for rule in (*baijiu.HARD_RULES, *baijiu.SOFT_RULES)]
    assert len(ids) == len(set(ids))


def test_every_threshold_names_its_standard_with_an_edition_and_a_status() -> None:
    for row in baijiu.THRESHOLDS:
        assert re.search(r"\d{4}|farmtrace rule", row.standard), row
        assert row.status in ("confirmed", "unverified"), row


def test_the_story_from_pit_to_shelf_passes_every_rule() -> None:
    judged = 0
    for name, p in story():
        events.EVENT_TYPES[p.type].validate(p.data)
        assert findings(p, baijiu.HARD_RULES) == {}, name
        assert findings(p, baijiu.SOFT_RULES) == {}, name
        judged += 1
    assert judged == len(STORY)


REFUSED = {  # id: (step judged, changes, rule, words the message must contain)
    "bottling a blend over the methanol limit": (
        "bottling", {"methanol test": {"value": "0.35"}}, "baijiu.contaminants",
        "GB 2757-2012: methanol 0.672 g/L at 100 %vol (measured 0.35 g/L, 52.1 %vol) > 0.6 g/L"),
    "bottling a blend over the cyanide limit": (
        "bottling", {"cyanide test": {"value": "5"}}, "baijiu.contaminants", "GB 2757-2012: cyanide 9.597 mg/L"),
    "bottling a blend over the lead limit": (
        "bottling", {"lead test": {"value": "0.6"}}, "baijiu.contaminants", "GB 2762-2022: lead 0.6 mg/kg > 0.5"),
    "packing bottles over the methanol limit": (
        "pack", {"bottle test": {"analyte": "methanol", "value": "0.4", "unit": "g/L", "abv": "52"}},
        "baijiu.contaminants", "may not be packed, shipped or sold"),
    "shipping bottles over the methanol limit": (
        "ship", {"bottle test": {"analyte": "methanol", "value": "400", "unit": "mg/L", "abv": "52"}},
        "baijiu.contaminants", "GB 2757-2012: methanol 0.769 g/L"),
    "a blend with less pure alcohol than its inputs": (
        "blend", {"blend": {"abv": "50"}}, "baijiu.blend_balance", "11.75 L unaccounted for"),
    "a blend with more pure alcohol than its inputs": (
        "blend", {"blend": {"abv": "54"}}, "baijiu.blend_balance", "more alcohol out than in"),
    "a blend measured in kg": ("blend", {"blend": {"unit": "KGM"}}, "baijiu.blend_balance", "its volume in LTR"),
    "a blend whose input strength is unknown": (
        "blend", {"distil b": {"abv": None}, "age b": {"abv": None}}, "baijiu.blend_balance",
        "blending input base-b needs its volume in LTR and its %vol"),
    "more bottled than the blend drawn": (
        "bottling", {"bottling": {"quantity": "1001"}}, "baijiu.bottling_volume", "500.5 L > 500 L"),
    "bottling without a bottle size": (
        "bottling", {"bottling": {"bottle_ml": None}}, "baijiu.bottling_volume", "data.bottle_ml"),
    "a 5 年 blend from liquor aged since 2022": (
        "blend", {"age b": {"start": "2022-01-01"}, "age a": {"start": "2022-01-01"}}, "baijiu.age_claim",
        "ageing to start by 2021-03-10"),
    "a label claiming more years than the blend": (
        "pack", {"pack": {"label": {"age_claim": "8"}}}, "baijiu.age_claim", "label claims 8 年"),
    "a label without the health warning": (
        "pack", {"pack": {"label": {"warning": "适量饮酒"}}}, "baijiu.label", "GB 2757-2012"),
    "a label stating alcohol in 度": (
        "pack", {"pack": {"label": {"abv_unit": "度"}}}, "baijiu.label", "in %vol"),
    "packing without a label": ("pack", {"pack": {"label": None}}, "baijiu.label", "data.label"),
    "an SC licence for meat products": (
        "pack", {"pack": {"label": {"sc": "SC10451192300012"}}}, "baijiu.sc_licence",
        "食品生产许可管理办法 (2020): licence SC10451192300012 is for food category 104, not 115"),
    "a malformed SC licence": ("pack", {"pack": {"label": {"sc": "SC1155"}}}, "baijiu.sc_licence", "SC + 14 digits"),
    "high strength at 40 %vol": (
        "pack", {"pack": {"label": {"abv": "40"}}}, "baijiu.strength", "GB/T 10781.1-2021"),
    "serials commissioned twice": (
        "commission 2", {"commission 2": {"first_serial": "PC2603120000600", "count": "401"}}, "baijiu.serials",
        "one serial once"),
    "more serials than bottles": (
        "commission 2", {"commission 2": {"last_serial": "PC2603120001001", "count": "401"}}, "baijiu.serials",
        "1001 serials commissioned for 1000 bottles"),
}


@pytest.mark.parametrize(("step", "changes", "rule", "words"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_hard_rule_refuses_the_event_and_names_its_standard(
        step: str, changes: dict[str, dict[str, Any]], rule: str, words: str) -> None:
    refused = findings(proposal_at(step, changes), baijiu.HARD_RULES)
    assert rule in refused
    assert words in refused[rule]


WARNED = {  # id: (step judged, changes, rule, words the warning must contain)
    "a distillate at 82 %vol": ("distil a", {"distil a": {"abv": "82"}}, "baijiu.distillation_abv", "outside 30–80"),
    "a distillate with no %vol": ("distil b", {"distil b": {"abv": None}}, "baijiu.distillation_abv", "data.abv"),
    "measured alcohol 1.5 %vol off the label": (
        "pack", {"bottle test": {"value": "50.5"}}, "baijiu.label_abv",
        "GB/T 10781.1-2021: measured 50.5 %vol differs from the label's 52 %vol by 1.5 > ±1 %vol"),
    "a blend larger than its inputs": ("blend", {"blend": {"water": None}}, "baijiu.blend_volume", "do not grow"),
    "a blend that shrank too much": ("blend", {"blend": {"water": "200"}}, "baijiu.blend_volume", "more than 5 %"),
}


@pytest.mark.parametrize(("step", "changes", "rule", "words"), list(WARNED.values()), ids=list(WARNED))
def test_a_soft_rule_warns_and_accepts_the_event(step: str, changes: dict[str, dict[str, Any]], rule: str,
                                                 words: str) -> None:
    p = proposal_at(step, changes)
    assert findings(p, baijiu.HARD_RULES) == {}
    assert words in findings(p, baijiu.SOFT_RULES)[rule]


LAB_RESULTS = {  # id: (test data, category, verdict, words the message must contain)
    "methanol within the limit at 100 %vol": (
        {"analyte": "methanol", "value": "0.15", "unit": "g/L", "abv": "52"}, None, "pass", "0.288 g/L at 100 %vol"),
    "methanol at the limit passes": (
        {"analyte": "methanol", "value": "0.312", "unit": "g/L", "abv": "52"}, None, "pass", "methanol 0.6 g/L at 100 %vol (measured 0.312 g/L, 52 %vol) ≤ 0.6 g/L"),
    "methanol over the limit": (
        {"analyte": "甲醇", "value": "0.35", "unit": "g/L", "abv": "52"}, None, "fail",
        "GB 2757-2012: methanol 0.673 g/L at 100 %vol"),
    "methanol in mg/L": ({"analyte": "methanol", "value": "350", "unit": "mg/L", "abv": "52"}, None, "fail", "> 0.6"),
    "methanol from other raw materials": (
        {"analyte": "methanol", "value": "0.9", "unit": "g/L", "abv": "52"}, "other", "pass", "≤ 2 g/L"),
    "methanol not detected": ({"analyte": "methanol", "value": None, "lod": "0.01", "unit": "g/L", "abv": "52"}, None,
                              "pass", "not detected"),
    "methanol without the sample's %vol": ({"analyte": "methanol", "value": "0.1", "unit": "g/L"}, None, "info",
                                           "data.abv"),
    "cyanide within the limit": ({"analyte": "cyanide", "value": "4", "unit": "mg/L", "abv": "52"}, None, "pass",
                                 "7.692 mg/L at 100 %vol"),
    "cyanide over the limit": ({"analyte": "HCN", "value": "4.5", "unit": "mg/L", "abv": "52"}, None, "fail",
                               "> 8 mg/L"),
    "lead at the limit": ({"analyte": "lead", "value": "0.5", "unit": "mg/kg"}, None, "pass", "GB 2762-2022"),
    "lead over the limit": ({"analyte": "Pb", "value": "0.6", "unit": "mg/kg"}, None, "fail", "0.6 mg/kg > 0.5"),
}


@pytest.mark.parametrize(("data", "category", "verdict", "words"), list(LAB_RESULTS.values()), ids=list(LAB_RESULTS))
def test_judge_test_computes_the_verdict_from_the_thresholds(data: dict[str, Any], category: str | None,
                                                             verdict: str, words: str) -> None:
    got, message = baijiu.judge_test({"method": "m", "report_no": "R-1", **data}, date(2026, 3, 11), category)
    assert got == verdict
    assert message is not None and words in message


def test_judge_test_has_no_verdict_without_a_threshold() -> None:
    assert baijiu.judge_test({"analyte": "酒精度", "value": "52", "unit": "%vol"}, date(2026, 3, 11)) == ("info", None)
    assert baijiu.judge_test({"analyte": "methanol", "value": "1", "unit": "g/L", "abv": "50"},
                             date(2012, 1, 1)) == ("info", None)


VALID = {step: data for step, _, kind, _, _, data, _ in STORY if kind in ("fermented", "commissioned")}
BAD_KDES = {  # id: (step whose data is changed, change (None deletes), field the error must name)
    "no pit": ("fermented", {"pit": None}, "data.pit"),
    "a negative pit age": ("fermented", {"pit_age": "-1"}, "data.pit_age"),
    "round zero": ("fermented", {"round": "0"}, "data.round"),
    "no grain lots": ("fermented", {"grain_lots": []}, "data.grain_lots"),
    "曲 lots as one text": ("fermented", {"qu_lots": "Q-1907-02"}, "data.qu_lots"),
    "no grain weight": ("fermented", {"kg": "0"}, "data.kg"),
    "a sealing date with slashes": ("fermented", {"sealed": "2019/09/01"}, "data.sealed"),
    "opened before sealed": ("fermented", {"opened": "2019-08-31"}, "data.opened"),
    "an empty first serial": ("commission 1", {"first_serial": ""}, "data.first_serial"),
    "a serial longer than AI 21 allows": ("commission 1", {"first_serial": "P" * 20 + "1"}, "data.first_serial"),
    "a last serial with another prefix": ("commission 1", {"last_serial": "PD2603120000600"}, "data.last_serial"),
    "a last serial before the first": ("commission 1", {"last_serial": "PC2603120000000"}, "data.last_serial"),
    "a count that is not the range": ("commission 1", {"count": "599"}, "data.count"),
    "a fractional count": ("commission 1", {"count": "1.5"}, "data.count"),
}


@pytest.mark.parametrize(("step", "change", "field"), list(BAD_KDES.values()), ids=list(BAD_KDES))
def test_a_bad_kde_is_refused_naming_its_field(step: str, change: dict[str, Any], field: str) -> None:
    data = {k: v for k, v in {**VALID[step], **change}.items() if v is not None}
    kind = events.EVENT_TYPES[next(s[2] for s in STORY if s[0] == step)]
    with pytest.raises(InvalidEventError) as refused:
        kind.validate(data)
    assert refused.value.field == field


def test_no_rule_raises_on_odd_data() -> None:
    odd_values: list[Any] = [None, 7, [], {}, "x", [{"batch": 1}], "-1"]
    for step, batch, kind, org, when, data, inputs in STORY:
        for key in data:
            for odd in odd_values:
                try:  # the engine refuses what the type's validator refuses, before any rule runs
                    events.EVENT_TYPES[kind].validate({**data, key: odd})
                except InvalidEventError:
                    continue
                for name, p in story({step: {key: odd}}):
                    for rule in (*baijiu.HARD_RULES, *baijiu.SOFT_RULES):
                        if p.type in rule.applies_to:
                            assert rule.check(p) is None or isinstance(rule.check(p), str), (name, key, odd)
                    if p.type == "test":
                        assert baijiu.judge_test(p.data, when.date())[0] in ("pass", "fail", "info")


# ---- declarations: the words pages show ------------------------------------------------------------------

HAN = re.compile(r"[\u4e00-\u9fff]")
UNIT_CODES = re.compile(r"\b(KGM|LTR|MLT|CEL|TNE|GRM|H87|XBO|XBX)\b")


def _all_kdes(kdes: Sequence[Kde]) -> Iterator[Kde]:
    for kde in kdes:
        yield kde
        yield from _all_kdes(kde.items)


def _shown_as_words(shown: Sequence[Shown]) -> None:
    for line in shown:
        assert line.label != line.name and line.label != "其他记录", line
        assert not UNIT_CODES.search(line.value), line


def test_each_event_type_of_the_family_has_one_declaration_in_the_modules_order() -> None:
    assert [decl.type for decl in baijiu.DECLARATIONS] == [kind.name for kind in baijiu.EVENT_TYPES]
    assert rules_for("baijiu").declarations == baijiu.DECLARATIONS
    assert all(decl.family == "baijiu" and decl.zh and decl.en for decl in baijiu.DECLARATIONS)


@pytest.mark.parametrize("decl", baijiu.DECLARATIONS, ids=lambda d: d.type)
def test_a_declarations_example_is_valid_and_shown_in_chinese_words(decl: Declaration) -> None:
    assert decl.example is not None
    events.EVENT_TYPES[decl.type].validate(decl.example)
    shown = describe(decl.type, decl.example, "zh_CN", family=baijiu.FAMILY)
    assert {line.name for line in shown} == set(decl.example)
    _shown_as_words(shown)


SHARED_STEPS = {  # extended shared step: a recorded example whose every field the family names
    "transform": next(data for name, _, _, _, _, data, _ in STORY if name == "blend"),
    "stored": next(data for name, _, _, _, _, data, _ in STORY if name == "age a"),
    "test": {**next(data for name, _, _, _, _, data, _ in STORY if name == "methanol test"), "abv": "52"},
    "packed": next(data for name, _, _, _, _, data, _ in STORY if name == "pack"),
    "observe": {"step": "certified", "scheme": "geographic_indication", "certificate_no": "GI-2023-平昌白酒",
                "issuer": "国家知识产权局", "valid_from": "2023-01-01", "valid_until": "2029-12-31"},
}


@pytest.mark.parametrize(("step", "data"), list(SHARED_STEPS.items()), ids=list(SHARED_STEPS))
def test_the_kdes_the_family_adds_to_a_shared_step_are_shown_by_label_and_unit(step: str, data: dict[str, Any]) -> None:
    # a transformation's inputs are a shared KDE (rules/steps.py INPUT_ITEM), shown by the shared code
    _shown_as_words(describe(step, data, "zh_CN", family=baijiu.FAMILY, skip=("inputs",)))


def test_the_bottling_and_label_kdes_read_as_people_write_them() -> None:
    bottling = next(data for name, _, _, _, _, data, _ in STORY if name == "bottling")
    shown = {line.name: line.value for line in describe("transform", bottling, "zh_CN", family=baijiu.FAMILY)}
    assert shown["bottle_ml"] == "500 毫升"
    assert shown["age_claim"] == "5 年"
    label = {line.name: line.value for line in describe("packed", {"label": LABEL}, "zh_CN", family=baijiu.FAMILY)}
    assert "酒精度 52%vol" in label["label"] and "高度酒" in label["label"] and "%vol %vol" not in label["label"]


def test_every_kde_and_choice_is_named_in_chinese_and_english() -> None:
    kdes = [kde for decl in baijiu.DECLARATIONS for kde in decl.kdes]
    kdes += [kde for step in EXTRA_KDES.values() for kde in step.get(baijiu.FAMILY, ())]
    for kde in _all_kdes(kdes):
        assert kde.zh and kde.en and HAN.search(kde.zh), kde.name
        assert all(zh and en and HAN.search(zh) for zh, en in kde.choices.values()), kde.name


# ---- rule messages in both languages ------------------------------------------------------------------------

SAID = {  # id: (rule set, step judged, changes, rule, the standard, English as the API has always said it)
    "a hard rule on a health standard": (
        "hard", "pack", {"pack": {"label": {"warning": "适量饮酒"}}}, "baijiu.label", "GB 2757-2012",
        'GB 2757-2012: the label carries the warning "过量饮酒有害健康"'),
    "a hard rule on the contaminant limits, through the lineage": (
        "hard", "bottling", {"methanol test": {"value": "0.35"}}, "baijiu.contaminants", "GB 2757-2012",
        "GB 2757-2012: methanol 0.672 g/L at 100 %vol (measured 0.35 g/L, 52.1 %vol) > 0.6 g/L (report BJ-0311-2): "
        "input blend may not be blended or bottled"),
    "a hard rule on the licence": (
        "hard", "pack", {"pack": {"label": {"sc": "SC10451192300012"}}}, "baijiu.sc_licence", "食品生产许可管理办法 (2020)",
        "食品生产许可管理办法 (2020): licence SC10451192300012 is for food category 104, not 115 (liquor)"),
    "a hard rule of our own": (
        "hard", "bottling", {"bottling": {"quantity": "1001"}}, "baijiu.bottling_volume", "domain.md §4.1",
        "farmtrace rule (domain.md §4.1): 1001 bottles × 500 mL = 500.5 L > 500 L of blend drawn"),
    "a soft rule on the label's alcohol": (
        "soft", "pack", {"bottle test": {"value": "50.5"}}, "baijiu.label_abv", "GB/T 10781.1-2021",
        "GB/T 10781.1-2021: measured 50.5 %vol differs from the label's 52 %vol by 1.5 > ±1 %vol"),
    "a soft rule on the blend's volume": (
        "soft", "blend", {"blend": {"water": "200"}}, "baijiu.blend_volume", "farmtrace",
        "farmtrace rule: blend of 586.5 L from 700 L shrank by more than 5 %; record the loss"),
}


@pytest.mark.parametrize(("kind", "step", "changes", "rule", "standard", "english"), list(SAID.values()),
                         ids=list(SAID))
def test_a_rule_says_its_finding_in_chinese_too_and_its_english_is_unchanged(
        kind: str, step: str, changes: dict[str, dict[str, Any]], rule: str, standard: str, english: str) -> None:
    rules = baijiu.HARD_RULES if kind == "hard" else baijiu.SOFT_RULES
    message = findings(proposal_at(step, changes), rules)[rule]
    assert isinstance(message, Said)
    assert str.__str__(message) == english
    assert HAN.search(message.zh) and standard in message.zh
    assert not UNIT_CODES.search(message.zh) and " L " not in message.zh


def test_a_lab_verdict_is_said_in_chinese_with_the_standard_and_the_units_by_name() -> None:
    verdict, message = baijiu.judge_test({"analyte": "甲醇", "value": "0.35", "unit": "g/L", "abv": "52"},
                                         date(2026, 3, 11))
    assert verdict == "fail" and isinstance(message, Said)
    assert str.__str__(message) == "GB 2757-2012: methanol 0.673 g/L at 100 %vol (measured 0.35 g/L, 52 %vol) > 0.6 g/L"
    assert message.zh == "GB 2757-2012：甲醇 0.673 克/升（按 100%vol 折算；实测 0.35 克/升，酒精度 52%vol） > 0.6 克/升"
