"""A small Bazhong demo data set: a few orgs per product family, their batches and steps.

`load_demo(ledger)` writes it only into an empty ledger (no batches yet). Users get the password
`bazhong-demo-2026` (printed by scripts/serve); change it before any real use.
"""

from __future__ import annotations

from typing import Any

from farmtrace.core.append import Actor
from farmtrace.core.ledger import Ledger

DEMO_PASSWORD = "bazhong-demo-2026"

ORGS: list[dict[str, Any]] = [
    {"org_id": "nanjiang-se-rice", "name": "南江县富硒稻米专业合作社", "kind": "producer", "family": "produce", "county": "511922"},
    {"org_id": "yunding-tea", "name": "巴中云顶茶业有限公司", "kind": "producer", "family": "produce", "county": "511922"},
    {"org_id": "qingyu-pig-farm", "name": "通江县青峪猪生态养殖场", "kind": "producer", "family": "pork", "county": "511921"},
    {"org_id": "bazhong-meat-park", "name": "巴中西部肉类食品加工园屠宰厂", "kind": "processor", "family": "pork", "county": "511902"},
    {"org_id": "pingchang-distillery", "name": "平昌白酒工业园酿酒厂", "kind": "processor", "family": "baijiu", "county": "511923"},
    {"org_id": "guangwu-spring", "name": "光雾山矿泉水有限公司", "kind": "processor", "family": "water", "county": "511922"},
    {"org_id": "bazhou-market", "name": "巴州区巴食巴适超市", "kind": "retailer", "family": None, "county": "511902"},
    {"org_id": "bazhong-samr", "name": "巴中市市场监督管理局", "kind": "regulator", "family": None, "county": "511902"},
]

USERS = [("rice", "nanjiang-se-rice", "producer"), ("tea", "yunding-tea", "producer"),
         ("pigfarm", "qingyu-pig-farm", "producer"), ("meat", "bazhong-meat-park", "producer"),
         ("distillery", "pingchang-distillery", "producer"), ("water", "guangwu-spring", "producer"),
         ("shop", "bazhou-market", "producer"), ("regulator", "bazhong-samr", "regulator"),
         ("admin", "bazhong-samr", "admin")]

# (org, batch id, create data, [(at, step data), ...])
BATCHES: list[tuple[str, str, dict[str, Any], list[tuple[str, dict[str, Any]]]]] = [
    ("nanjiang-se-rice", "rice-2026-nj01",
     {"product": "南江富硒大米", "lot": "NJSE-2026-01", "family": "produce", "quantity": "12000", "unit": "KGM",
      "place": "南江县 长赤镇 富硒稻田 3号地块", "crop": "水稻"},
     [("2026-04-20T09:00:00+08:00", {"step": "planted", "plot": "CC-03", "area": "48", "area_unit": "mu"}),
      ("2026-07-02T10:30:00+08:00", {"step": "input_applied", "product_name": "有机肥", "dose": "200", "dose_unit": "KGM"}),
      ("2026-09-25T08:00:00+08:00", {"step": "harvested", "weight": "12000", "unit": "KGM", "moisture": "14.2"}),
      ("2026-10-08T15:00:00+08:00", {"step": "lab_result", "analyte": "Se", "value": "0.12", "unit": "mg/kg",
                                     "method": "GB 5009.93", "limit": "0.04-0.30", "standard": "GB/T 22499-2008"})]),
    ("yunding-tea", "tea-2026-yd03",
     {"product": "巴中云顶富硒绿茶", "lot": "YD-2026-03", "family": "produce", "quantity": "850", "unit": "KGM",
      "place": "南江县 云顶茶园 (海拔 1,100 m)"},
     [("2026-04-02T06:30:00+08:00", {"step": "harvested", "weight": "850", "unit": "KGM", "leaf": "一芽一叶"}),
      ("2026-04-03T14:00:00+08:00", {"step": "processed", "stages": "摊青, 杀青, 揉捻, 烘干"}),
      ("2026-04-20T11:00:00+08:00", {"step": "lab_result", "analyte": "Se", "value": "0.68", "unit": "mg/kg",
                                     "method": "GB 5009.93", "limit": "0.25-4.00", "standard": "NY/T 600-2002"})]),
    ("qingyu-pig-farm", "pig-2026-qy17",
     {"product": "青峪猪 生猪", "lot": "QY-2026-17", "family": "pork", "quantity": "40", "unit": "head",
      "place": "通江县 青峪镇 养殖场 2号舍"},
     [("2026-03-01T09:00:00+08:00", {"step": "animal_tagged", "tags": "151192100000101-151192100000140"}),
      ("2026-06-12T08:00:00+08:00", {"step": "immunised", "vaccine": "猪瘟活疫苗", "dose": "1", "dose_unit": "头份"}),
      ("2026-10-30T07:00:00+08:00", {"step": "quarantined", "certificate": "动检A5119210004512", "head": "40"})]),
    ("pingchang-distillery", "baijiu-2026-pc05",
     {"product": "平昌浓香型白酒 52%vol 500mL", "lot": "PC-2026-05", "family": "baijiu", "quantity": "6000",
      "unit": "bottle", "place": "平昌县 白酒工业园 3号车间"},
     [("2026-02-10T09:00:00+08:00", {"step": "fermented", "pit": "PC-J-118", "pit_age": "32", "round": "3"}),
      ("2026-05-18T10:00:00+08:00", {"step": "blended", "volume": "3000", "unit": "LTR", "abv": "52.0"}),
      ("2026-05-25T16:00:00+08:00", {"step": "lab_result", "analyte": "methanol", "value": "0.21", "unit": "g/L",
                                     "limit": "0.6", "standard": "GB 2757-2012"}),
      ("2026-06-01T08:00:00+08:00", {"step": "bottled", "bottles": "6000", "size_ml": "500"})]),
    ("guangwu-spring", "water-2026-l2-0315",
     {"product": "光雾山天然矿泉水 550mL", "lot": "L2-20260315-0800", "family": "water", "quantity": "24000",
      "unit": "bottle", "place": "南江县 光雾山 保护水源 1号泉"},
     [("2026-03-15T08:00:00+08:00", {"step": "production_run", "line": "L2", "volume": "13200", "unit": "LTR"}),
      ("2026-03-16T10:00:00+08:00", {"step": "lab_result", "analyte": "metasilicic acid", "value": "32.1",
                                     "unit": "mg/L", "limit": "25.0", "standard": "GB 8537-2018"})]),
]


def load_demo(ledger: Ledger) -> bool:
    """Write the demo data set into an empty ledger; return False (writing nothing) otherwise."""
    with ledger.uow() as uow:
        if uow.batches(limit=1) or uow.orgs():
            return False
    ledger.init()
    for org in ORGS:
        ledger.create_org(**org)
    for username, org_id, role in USERS:
        ledger.create_user(org_id, username, DEMO_PASSWORD, role=role)
    for org_id, batch_id, data, steps in BATCHES:
        actor = Actor(org=org_id)
        ledger.append({"type": "create", "batch": batch_id, "at": steps[0][0], "data": data}, actor=actor)
        for at, step in steps:
            ledger.append({"type": "observe", "batch": batch_id, "at": at, "data": step}, actor=actor)
    return True
