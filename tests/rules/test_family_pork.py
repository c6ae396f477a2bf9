from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from farmtrace.ledger import events
from farmtrace.ledger.errors import InvalidEventError
from farmtrace.rules.declare import EXTRA_KDES, Declaration, Kde, Said, describe
from farmtrace.rules.families import BatchState, Proposal, pork, rules_for

CST = timezone(timedelta(hours=8))
H = "ab" * 32  # any event hash
TAG1, TAG2 = "151192100000001", "151192100000002"  # 通江县 (511921)


def at(day: int, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=CST)


ORGS = {"farm": "producer", "slaughterhouse": "processor", "shop": "retailer", "lab": "lab"}

# One lot of two 青峪猪 from tagging to a retail sale: (step, batch, type, org, time, data, input batches)
STORY: list[tuple[str, str, str, str, datetime, dict[str, Any], tuple[str, ...]]] = [
    ("tagged", "pigs", "animal_tagged", "farm", datetime(2026, 1, 10, 9, tzinfo=CST), {
        "product": "青峪猪 生猪", "lot": "QY-2026-001", "family": "pork", "quantity": "2", "unit": "head",
        "tags": [TAG1, TAG2], "birth_or_arrival": "2025-12-20", "breed": "青峪猪", "sex": "barrow"}, ()),
    ("fed", "pigs", "fed", "farm", datetime(2026, 1, 20, 9, tzinfo=CST), {
        "feed": "育肥猪配合饲料", "supplier": "巴中饲料厂", "lot": "F-0120", "kg": "50", "additives": ["复合维生素"]}, ()),
    ("immunised", "pigs", "immunised", "farm", datetime(2026, 2, 1, 9, tzinfo=CST), {
        "vaccine": "猪瘟活疫苗", "manufacturer": "某生物制品厂", "batch": "V-2026-01", "dose": "1",
        "dose_unit": "头份", "vet": "王兽医"}, ()),
    ("treated", "pigs", "treated", "farm", datetime(2026, 2, 5, 9, tzinfo=CST), {
        "drug": "土霉素注射液", "approval_no": "兽药字220011111", "dose": "5", "dose_unit": "mL", "route": "im",
        "start": "2026-02-05", "end": "2026-02-07", "withdrawal_days": "28"}, ()),
    ("quarantined", "pigs", "quarantined", "farm", at(13), {
        "certificate_no": "5100000000123", "issuer": "通江县动物卫生监督所", "head": "2", "tags": [TAG1, TAG2]}, ()),
    ("ship pigs", "pigs", "ship", "farm", at(14), {
        "to": "slaughterhouse", "quantity": "2", "unit": "head", "doc": "5100000000123",
        "certificate_no": "HGZ-0314-01", "live_weight": "240", "vehicle_no": "川Y12345"}, ()),
    ("receive pigs", "pigs", "receive", "slaughterhouse", at(14, 16), {
        "ship": H, "quantity": "2", "unit": "head", "certificate_no": "HGZ-0314-01", "live_weight": "238",
        "tags": [TAG1, TAG2]}, ()),
    ("entry check", "pigs", "inspected", "slaughterhouse", at(14, 17), {
        "stage": "ante-mortem", "certificate_no": "5100000000123", "result": "pass"}, ()),
    ("asf test", "pigs", "test", "lab", at(15, 6), {
        "sample": H, "analyte": "ASFV", "method": "GB/T 18648-2020", "value": None, "lod": "10", "unit": "copies/µL",
        "report_no": "ASF-0315"}, ()),
    ("clenbuterol test", "pigs", "test", "lab", at(15, 6), {
        "sample": H, "analyte": "克伦特罗", "method": "GB/T 22286-2008", "value": None, "lod": "0.1", "unit": "µg/kg",
        "report_no": "BA-0315"}, ()),
    ("slaughter", "carcass", "transform", "slaughterhouse", at(15, 9), {
        "product": "青峪猪 白条", "lot": "C-0315-01", "family": "pork", "quantity": "180", "unit": "KGM",
        "process": "slaughter", "inputs": [{"batch": "pigs", "event": H, "quantity": "2", "unit": "head"}],
        "asf_reports": ["ASF-0315"], "asf_method": "pcr"}, ("pigs",)),
    ("post-mortem", "carcass", "inspected", "slaughterhouse", at(15, 10), {
        "stage": "post-mortem", "quarantine_certificate": "5100000000456", "quality_certificate": "RP-0315-01"}, ()),
    ("chilling", "carcass", "temperature_logged", "slaughterhouse", at(15, 11), {
        "device": "T-01", "value": "21.5", "unit": "CEL", "probe": "core", "location": "core", "regime": "chilling"}, ()),
    ("chill room", "carcass", "stored", "slaughterhouse", at(15, 12), {
        "room": "CR-1", "start": "2026-03-15", "temperature": "2.0", "unit": "CEL", "regime": "chilled"}, ()),
    ("chilled", "carcass", "temperature_logged", "slaughterhouse", at(16, 6), {
        "device": "T-01", "value": "3.2", "unit": "CEL", "probe": "core", "location": "core", "regime": "chilled"}, ()),
    ("cutting", "cuts", "transform", "slaughterhouse", at(16, 8), {
        "product": "青峪猪 后腿肉", "lot": "K-0316-01", "family": "pork", "quantity": "120", "unit": "KGM",
        "process": "cutting", "inputs": [{"batch": "carcass", "event": H, "quantity": "180", "unit": "KGM"}],
        "asf_reports": ["ASF-0315"], "asf_method": "pcr",
        "meat_certificates": [{"quarantine": "5100000000456", "quality": "RP-0315-01"}]}, ("carcass",)),
    ("cutting room", "cuts", "temperature_logged", "slaughterhouse", at(16, 9), {
        "device": "R-02", "value": "10.5", "unit": "CEL", "probe": "air", "location": "cutting_room"}, ()),
    ("cold 1", "cuts", "temperature_logged", "slaughterhouse", at(16, 10), {
        "device": "C-07", "value": "2.5", "unit": "CEL", "probe": "air", "regime": "chilled"}, ()),
    ("cold 2", "cuts", "temperature_logged", "slaughterhouse", at(16, 11), {
        "device": "C-07", "value": "3.0", "unit": "CEL", "probe": "air", "regime": "chilled"}, ()),
    ("cold 3", "cuts", "temperature_logged", "slaughterhouse", at(16, 12, 30), {
        "device": "C-07", "value": "2.8", "unit": "CEL", "probe": "air", "regime": "chilled"}, ()),
    ("lead test", "cuts", "test", "lab", at(16, 12), {
        "sample": H, "analyte": "lead", "method": "GB 5009.12-2017", "value": "0.05", "unit": "mg/kg",
        "report_no": "PB-0316"}, ()),
    ("pack", "cuts", "packed", "slaughterhouse", at(16, 13), {
        "gtin": "06901234567892", "units": "60", "net": "2", "net_unit": "KGM", "pack_date": "2026-03-16"}, ()),
    ("ship cuts", "cuts", "ship", "slaughterhouse", at(16, 14), {
        "to": "shop", "quantity": "120", "unit": "KGM", "doc": "DN-0316-01"}, ()),
    ("receive cuts", "cuts", "receive", "shop", at(16, 17), {"ship": H, "quantity": "120", "unit": "KGM"}, ()),
    ("sell", "cuts", "sell", "shop", at(17, 10), {"quantity": "1.5", "unit": "KGM"}, ()),
]
STEPS = [step[0] for step in STORY]


def story(changes: Mapping[str, Mapping[str, Any]] | None = None, drop: Sequence[str] = ()) -> Iterator[tuple[str, Proposal]]:
    """Each step's Proposal, with `changes` (None deletes a key) applied and `drop`ped steps left out."""
    histories: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, batch, kind, org, when, data, inputs in STORY:
        if name in drop:
            continue
        data = {**data, **(changes or {}).get(name, {})}
        data = {k: v for k, v in data.items() if v is not None or k == "value"}
        history = histories[batch]
        genesis = history[0]["data"] if history else None
        state = None if genesis is None else BatchState(
            batch, "pork", genesis["product"], genesis["lot"], org, Decimal(genesis["quantity"]), genesis["unit"], "held")
        yield name, Proposal(kind, data, when, org, ORGS[org], state, tuple(history),
                             {b: tuple(histories[b]) for b in inputs})
        history.append({"type": kind, "batch": batch, "org": org, "at": when.isoformat(), "data": data})


def proposal_at(step: str, changes: Mapping[str, Mapping[str, Any]] | None = None,
                drop: Sequence[str] = ()) -> Proposal:
    return next(p for name, p in story(changes, drop) if name == step)


def findings(p: Proposal, rules: Sequence[Any]) -> dict[str, str]:
    return {rule.id: message for rule in rules if p.type in rule.applies_to and (message := rule.check(p))}


def test_the_module_exposes_the_family_contract() -> None:
    family = rules_for("pork")
    assert family.name == pork.FAMILY == "pork"
    assert family.judge_test is pork.judge_test
    assert {kind.name for kind in pork.EVENT_TYPES} == {"animal_tagged", "fed", "immunised", "treated", "quarantined"}
    assert all(kind.family == "pork" and events.EVENT_TYPES[kind.name] is kind for kind in pork.EVENT_TYPES)
    assert [kind.name for kind in pork.EVENT_TYPES if kind.genesis] == ["animal_tagged"]
    ids = [rule.id for rule in (*pork.HARD_RULES, *pork.SOFT_RULES)]
    assert len(ids) == len(set(ids))


def test_every_threshold_names_its_standard_with_an_edition_and_a_status() -> None:
    for row in pork.THRESHOLDS:
        assert re.search(r"\d{4}|farmtrace rule", row.standard), row
        assert row.status in ("confirmed", "unverified"), row


def test_the_story_from_tagging_to_retail_passes_every_rule() -> None:
    judged = 0
    for name, p in story():
        events.EVENT_TYPES[p.type].validate(p.data)
        assert findings(p, pork.HARD_RULES) == {}, name
        assert findings(p, pork.SOFT_RULES) == {}, name
        judged += 1
    assert judged == len(STORY)


REFUSED = {  # id: (step judged, changes, dropped steps, rule, words the message must contain)
    "an ear tag whose county part is no GB/T 2260 code": (
        "tagged", {"tagged": {"tags": ["199999900000001", TAG2]}}, (), "pork.ear_tag", "畜禽标识和养殖档案管理办法 (2006)"),
    "an ear tag used twice": (
        "tagged", {"tagged": {"tags": [TAG1, TAG1]}}, (), "pork.ear_tag", "listed twice"),
    "a certificate naming a tag of another lot": (
        "quarantined", {"quarantined": {"tags": [TAG1, "151192100000009"]}}, (), "pork.ear_tag", "not in this lot"),
    "clenbuterol in the feed": (
        "fed", {"fed": {"additives": ["盐酸克伦特罗"]}}, (), "pork.banned_additive", "农业农村部公告第250号 (2019)"),
    "live pigs shipped without a quarantine certificate": (
        "ship pigs", None, ("quarantined",), "pork.quarantine_certificate", "动物检疫管理办法 (2022)"),
    "a certificate covering fewer head than shipped": (
        "ship pigs", {"quarantined": {"head": "1", "tags": [TAG1]}}, (), "pork.quarantine_certificate", "covers 1 head"),
    "a producer shipping live pigs without a 承诺达标合格证": (
        "ship pigs", {"ship pigs": {"certificate_no": None}}, (), "pork.commitment_certificate",
        "农业农村部令2025年第4号"),
    "a receive recording another 承诺达标合格证": (
        "receive pigs", {"receive pigs": {"certificate_no": "HGZ-9999"}}, (), "pork.commitment_certificate",
        "not the one shipped"),
    "shipping pigs inside the declared withdrawal period": (
        "ship pigs", {"treated": {"start": "2026-03-01", "end": "2026-03-03", "withdrawal_days": "28"}}, (),
        "pork.withdrawal", "农业部公告第278号 (2003)"),
    "a declared withdrawal shorter than the listed period": (
        "ship pigs", {"treated": {"start": "2026-02-18", "end": "2026-02-20", "withdrawal_days": "3"}}, (),
        "pork.withdrawal", "the listed period for 土霉素注射液 28 d runs to 2026-03-20"),
    "slaughtering pigs inside the withdrawal period": (
        "slaughter", {"treated": {"start": "2026-02-14", "end": "2026-02-16", "withdrawal_days": "28"}}, (),
        "pork.withdrawal", "slaughter of pigs"),
    "slaughtering pigs that never had a certificate": (
        "slaughter", None, ("quarantined",), "pork.slaughter_entry", "生猪屠宰管理条例 (2021)"),
    "carcasses heavier than the live pigs": (
        "slaughter", {"slaughter": {"quantity": "238"}}, (), "pork.slaughter_balance", "not below live weight 238 kg"),
    "cuts heavier than the carcass": (
        "cutting", {"cutting": {"quantity": "181"}}, (), "pork.cutting_balance", "exceed the 180 kg cut"),
    "slaughter citing an ASF report that is not on record": (
        "slaughter", None, ("asf test",), "pork.asf_negative", "农业农村部公告第119号 (2019)"),
    "slaughtering pigs with a positive ASF result": (
        "slaughter", {"asf test": {"value": "27.4", "lod": None, "unit": "Ct"}}, (), "pork.asf_negative",
        "asfv detected (27.4 Ct); must not be detected (report ASF-0315): input pigs"),
    "packing meat with no negative ASF result on record": (
        "pack", {"slaughter": {"asf_reports": None}, "cutting": {"asf_reports": None}}, ("asf test",),
        "pork.asf_negative", "农业农村部公告第119号 (2019)"),
    "slaughtering pigs with clenbuterol detected": (
        "slaughter", {"clenbuterol test": {"value": "1.2", "lod": None}}, (), "pork.beta_agonist",
        "农业农村部公告第250号 (2019)"),
    "shipping cuts over the lead limit": (
        "ship cuts", {"lead test": {"value": "0.35"}}, (), "pork.residue_limits", "GB 2762-2022: lead 0.35 mg/kg > 0.2"),
    "shipping cuts without 两证两章": (
        "ship cuts", {"cutting": {"meat_certificates": None}}, (), "pork.two_certificates", "生猪屠宰管理条例 (2021)"),
    "cutting that cites certificates no input has": (
        "cutting", {"cutting": {"meat_certificates": [{"quarantine": "X-1", "quality": "Y-1"}]}}, (),
        "pork.two_certificates", "no cited certificate pair"),
    "packing chilled pork kept above 8 °C for more than 2 h": (
        "pack", {"cold 1": {"value": "9.5"}, "cold 2": {"value": "10"}, "cold 3": {"value": "8.5"}}, (),
        "pork.chilled_excursion", "GB/T 24616-2019"),
}


@pytest.mark.parametrize(("step", "changes", "drop", "rule", "words"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_hard_rule_refuses_the_event_and_names_its_standard(
        step: str, changes: dict[str, dict[str, Any]] | None, drop: tuple[str, ...], rule: str, words: str) -> None:
    refused = findings(proposal_at(step, changes, drop), pork.HARD_RULES)
    assert rule in refused
    assert words in refused[rule]


def test_a_short_warm_spell_warns_but_does_not_stop_the_lot() -> None:
    changes = {"cold 1": {"value": "9.5"}, "cold 2": {"value": "9.8"}}  # 1 h above 8 °C, then 2.8 °C
    assert findings(proposal_at("pack", changes), pork.HARD_RULES) == {}
    assert "pork.chilled_reading" in findings(proposal_at("cold 2", changes), pork.SOFT_RULES)


WARNED = {  # id: (step judged, changes, rule, words the warning must contain)
    "a chilled reading above 4 °C": ("cold 1", {"cold 1": {"value": "5.1"}}, "pork.chilled_reading", "5.1 °C > 4 °C"),
    "a frozen reading above −18 °C": (
        "cold 1", {"cold 1": {"value": "-12", "regime": "frozen"}}, "pork.frozen_reading", "GB/T 24616-2019"),
    "a cutting room above 12 °C": ("cutting room", {"cutting room": {"value": "14"}}, "pork.cutting_room",
                                   "GB 12694-2016"),
    "a stored lot above 4 °C": ("chill room", {"chill room": {"temperature": "6"}}, "pork.chilled_reading", "chilled pork at 6 °C"),
}


@pytest.mark.parametrize(("step", "changes", "rule", "words"), list(WARNED.values()), ids=list(WARNED))
def test_a_soft_rule_warns_and_accepts_the_event(step: str, changes: dict[str, dict[str, Any]], rule: str,
                                                 words: str) -> None:
    p = proposal_at(step, changes)
    assert findings(p, pork.HARD_RULES) == {}
    warned = findings(p, pork.SOFT_RULES)
    assert words in warned[rule]


def test_a_chilling_carcass_is_not_judged_as_chilled_pork() -> None:
    assert findings(proposal_at("chilling", {"chilling": {"value": "35"}}), pork.SOFT_RULES) == {}


LAB_RESULTS = {  # id: (test data, date, verdict, words the message must contain)
    "ASF PCR not detected": ({"analyte": "ASFV", "value": None, "lod": "10", "unit": "copies/µL"}, "pass",
                             "农业农村部公告第119号 (2019)"),
    "ASF PCR detected": ({"analyte": "非洲猪瘟病毒", "value": "27.4", "unit": "Ct"}, "fail", "must not be detected"),
    "clenbuterol not detected": ({"analyte": "clenbuterol", "value": None, "lod": "0.1", "unit": "µg/kg"}, "pass",
                                 "not detected"),
    "salbutamol not detected, LOD in mg/kg": (
        {"analyte": "沙丁胺醇", "value": None, "lod": "0.0005", "unit": "mg/kg"}, "pass", "≤ 0.5 µg/kg"),
    "clenbuterol not detected with too coarse an LOD": (
        {"analyte": "克伦特罗", "value": None, "lod": "2", "unit": "µg/kg"}, "info", "not conclusive"),
    "ractopamine detected": ({"analyte": "莱克多巴胺", "value": "0.8", "unit": "µg/kg"}, "fail", "农业农村部公告第250号"),
    "lead at the limit": ({"analyte": "lead", "value": "0.2", "unit": "mg/kg"}, "pass", "GB 2762-2022"),
    "lead over the limit": ({"analyte": "铅", "value": "0.21", "unit": "mg/kg"}, "fail",
                            "GB 2762-2022: lead 0.21 mg/kg > 0.2 mg/kg"),
    "lead in µg/kg": ({"analyte": "Pb", "value": "150", "unit": "µg/kg"}, "pass", "lead 0.15 mg/kg"),
    "cadmium over the limit": ({"analyte": "cadmium", "value": "0.12", "unit": "mg/kg"}, "fail", "> 0.1 mg/kg"),
    "TVB-N over the limit": ({"analyte": "挥发性盐基氮", "value": "16", "unit": "mg/100 g"}, "fail", "GB 2707-2016"),
    "a unit that does not compare": ({"analyte": "lead", "value": "0.1", "unit": "mg/L"}, "info", "cannot compare"),
}


@pytest.mark.parametrize(("data", "verdict", "words"), list(LAB_RESULTS.values()), ids=list(LAB_RESULTS))
def test_judge_test_computes_the_verdict_from_the_thresholds(data: dict[str, Any], verdict: str, words: str) -> None:
    got, message = pork.judge_test({"method": "m", "report_no": "R-1", **data}, date(2026, 3, 15))
    assert got == verdict
    assert message is not None and words in message


def test_judge_test_has_no_verdict_without_a_threshold() -> None:
    assert pork.judge_test({"analyte": "vitamin E", "value": "1", "unit": "mg/kg"}, date(2026, 3, 15)) == ("info", None)
    assert pork.judge_test({"analyte": "lead", "value": "1", "unit": "mg/kg"}, date(2020, 1, 1)) == ("info", None)


VALID = {step: data for step, _, kind, _, _, data, _ in STORY if kind in {k.name for k in pork.EVENT_TYPES}}
BAD_KDES = {  # id: (step whose data is changed, change (None deletes), field the error must name)
    "an ear tag of 14 digits": ("tagged", {"tags": ["15119210000001", TAG2]}, "data.tags[0]"),
    "a cattle ear tag": ("tagged", {"tags": [TAG1, "251192100000002"]}, "data.tags[1]"),
    "fewer tags than head": ("tagged", {"tags": [TAG1]}, "data.tags"),
    "half a pig": ("tagged", {"quantity": "1.5"}, "data.quantity"),
    "pigs counted in kg": ("tagged", {"unit": "KGM"}, "data.unit"),
    "another family": ("tagged", {"family": "baijiu"}, "data.family"),
    "an impossible birth date": ("tagged", {"birth_or_arrival": "2025-02-30"}, "data.birth_or_arrival"),
    "no breed": ("tagged", {"breed": None}, "data.breed"),
    "feed weighed as a number": ("fed", {"kg": 50}, "data.kg"),
    "additives as one text": ("fed", {"additives": "none"}, "data.additives"),
    "no feed supplier": ("fed", {"supplier": ""}, "data.supplier"),
    "a zero vaccine dose": ("immunised", {"dose": "0"}, "data.dose"),
    "no vet": ("immunised", {"vet": None}, "data.vet"),
    "a treatment ending before it starts": ("treated", {"end": "2026-02-04"}, "data.end"),
    "half a withdrawal day": ("treated", {"withdrawal_days": "7.5"}, "data.withdrawal_days"),
    "no approval number": ("treated", {"approval_no": None}, "data.approval_no"),
    "a certificate for no head": ("quarantined", {"head": "0"}, "data.head"),
    "a certificate with fewer tags than head": ("quarantined", {"tags": [TAG1]}, "data.tags"),
    "no certificate number": ("quarantined", {"certificate_no": ""}, "data.certificate_no"),
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
                    for rule in (*pork.HARD_RULES, *pork.SOFT_RULES):
                        if p.type in rule.applies_to:
                            assert rule.check(p) is None or isinstance(rule.check(p), str), (name, key, odd)
                    if p.type == "test":
                        assert pork.judge_test(p.data, when.date())[0] in ("pass", "fail", "info")


# ---- declarations and words ---------------------------------------------------------------------------

CHINESE = re.compile(r"[\u4e00-\u9fff]")
UNIT_CODES = re.compile(r"\b(KGM|CEL|LTR|H87|HEA|head|day)\b")
ENGLISH_LEFT_OVER = re.compile(r"\b(report|detected|shipped|slaughtered|lot|input|certificate|head|kg|KGM|CEL|data\.\w+)\b")


def every_kde(kdes: Sequence[Kde]) -> Iterator[Kde]:
    for kde in kdes:
        yield kde
        yield from every_kde(kde.items)


def pork_kdes() -> Iterator[tuple[str, Kde]]:
    for decl in pork.DECLARATIONS:
        yield from ((decl.type, kde) for kde in every_kde(decl.kdes))
    for type_, by_family in EXTRA_KDES.items():
        yield from ((type_, kde) for kde in every_kde(by_family.get("pork", ())))


def test_there_is_one_declaration_per_event_type_in_the_module_order() -> None:
    assert [decl.type for decl in pork.DECLARATIONS] == [kind.name for kind in pork.EVENT_TYPES]
    assert all(decl.family == "pork" and CHINESE.search(decl.zh) and decl.en for decl in pork.DECLARATIONS)


@pytest.mark.parametrize("decl", pork.DECLARATIONS, ids=[d.type for d in pork.DECLARATIONS])
def test_each_declarations_example_is_valid_and_reads_in_chinese_words(decl: Declaration) -> None:
    assert decl.example is not None
    events.EVENT_TYPES[decl.type].validate(decl.example)
    shown = describe(decl.type, decl.example, "zh_CN", family="pork")
    units = {k.unit_kde for k in decl.kdes} | {"unit"}       # shown with their numbers, not on their own
    assert {s.name for s in shown} == {k.name for k in decl.kdes if k.name in decl.example} - units
    for s in shown:
        kde = decl.kde(s.name)
        assert kde is not None and s.label == kde.zh, s      # no raw key, no "其他记录"
        assert not UNIT_CODES.search(s.value), s
        assert s.value not in kde.choices, s                  # choices by their names


def test_every_kde_the_family_declares_or_adds_has_chinese_and_english_labels() -> None:
    for type_, kde in pork_kdes():
        assert CHINESE.search(kde.zh) and kde.en.strip(), (type_, kde.name)
        for value, (zh, en) in kde.choices.items():
            assert zh.strip() and en.strip(), (type_, kde.name, value)


def test_every_field_the_story_records_is_shown_under_a_label() -> None:
    for step, _, kind, _, _, data, _ in STORY:
        shown = describe(kind, data, "zh_CN", family="pork")
        assert all(s.label != "其他记录" for s in shown), (step, [s.name for s in shown if s.label == "其他记录"])


def test_the_fields_the_family_adds_to_shared_steps_stay_free_form() -> None:
    for type_, kdes in EXTRA_KDES.items():
        for kde in kdes.get("pork", ()):
            assert not kde.required, (type_, kde.name)
    chill_room = next(data for step, _, _, _, _, data, _ in STORY if step == "chill room")
    events.EVENT_TYPES["stored"].validate({**chill_room, "temperature": 2, "regime": "warm"})


def all_messages() -> Iterator[tuple[str, str]]:
    """(case id, message) of every refusal, warning and lab verdict the tables above expect."""
    for case, (step, changes, drop, rule, _) in REFUSED.items():
        yield case, findings(proposal_at(step, changes, drop), pork.HARD_RULES)[rule]
    for case, (step, soft_changes, rule, _) in WARNED.items():
        yield case, findings(proposal_at(step, soft_changes), pork.SOFT_RULES)[rule]
    for case, (data, _, _) in LAB_RESULTS.items():
        message = pork.judge_test({"method": "m", "report_no": "R-1", **data}, date(2026, 3, 15))[1]
        assert message is not None
        yield case, message


def test_every_rule_message_is_said_in_chinese_citing_the_same_standard() -> None:
    for case, message in all_messages():
        assert isinstance(message, Said), case
        assert CHINESE.search(message.zh) and not ENGLISH_LEFT_OVER.search(message.zh), (case, message.zh)
        cited = str(message).split(": ")[0].split(" / ")[0]
        assert (cited in message.zh) if not cited.startswith("farmtrace") else ("本平台规则" in message.zh), case


IN_BOTH_LANGUAGES = {  # id: (how the message is produced, English as the API has always carried it, Chinese)
    "a hard rule: cuts over the lead limit": (
        lambda: findings(proposal_at("ship cuts", {"lead test": {"value": "0.35"}}), pork.HARD_RULES)["pork.residue_limits"],
        "GB 2762-2022: lead 0.35 mg/kg > 0.2 mg/kg (report PB-0316); this lot may not be shipped, sold, packed or processed",
        "GB 2762-2022：铅 0.35 毫克/千克 > 0.2 毫克/千克（报告 PB-0316）；本批次不得发运、销售、包装或加工"),
    "a hard rule: a withdrawal shorter than listed": (
        lambda: findings(proposal_at("ship pigs", {"treated": {"start": "2026-02-18", "end": "2026-02-20",
                                                               "withdrawal_days": "3"}}), pork.HARD_RULES)["pork.withdrawal"],
        ("农业部公告第278号 (2003): 土霉素注射液 treatment ended 2026-02-20; the listed period for 土霉素注射液 28 d runs "
         "to 2026-03-20, after the shipment on 2026-03-14"),
        ("农业部公告第278号 (2003)：土霉素注射液于 2026-02-20 停药；按公告规定的土霉素注射液休药期 28 天计，至 2026-03-20 届满，"
         "晚于 2026-03-14 的发运")),
    "a soft rule: a frozen reading above −18 °C": (
        lambda: findings(proposal_at("cold 1", {"cold 1": {"value": "-12", "regime": "frozen"}}),
                         pork.SOFT_RULES)["pork.frozen_reading"],
        "GB/T 24616-2019: frozen pork at -12 °C > -18 °C", "GB/T 24616-2019：冷冻猪肉温度 -12 °C > -18 °C"),
    "a lab verdict: ractopamine detected": (
        lambda: pork.judge_test({"analyte": "莱克多巴胺", "value": "0.8", "unit": "µg/kg"}, date(2026, 3, 15))[1],
        "农业农村部公告第250号 (2019): ractopamine detected (0.8 µg/kg); must not be detected",
        "农业农村部公告第250号 (2019)：检出莱克多巴胺（0.8 微克/千克），不得检出"),
    "a lab verdict: ASF not detected": (
        lambda: pork.judge_test({"analyte": "ASFV", "value": None, "lod": "10", "unit": "copies/µL"}, date(2026, 3, 15))[1],
        "农业农村部公告第119号 (2019): asfv not detected (LOD 10 copies/µL)",
        "农业农村部公告第119号 (2019)：非洲猪瘟病毒未检出（检出限 10 拷贝/微升）"),
}


@pytest.mark.parametrize(("produce", "english", "chinese"), list(IN_BOTH_LANGUAGES.values()), ids=list(IN_BOTH_LANGUAGES))
def test_a_message_keeps_its_english_and_says_it_in_chinese(produce: Callable[[], str | None], english: str,
                                                            chinese: str) -> None:
    message = produce()
    assert isinstance(message, Said)
    assert str.__str__(message) == english
    assert message.zh == chinese
