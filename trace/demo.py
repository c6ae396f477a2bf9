"""Demo data: a realistic Bazhong (巴中) supply network, small by default, or grown to any size.

`load_demo(ledger)` writes, into an empty ledger, the orgs of every family, their users, and one
or two complete chains per family from origin to retail — with lab results signed by the lab, a
few soft-rule warnings and one recall. `grow(ledger, events, seed)` repeats randomised chains
until the log holds at least `events` entries (deterministic for a seed); `farmtrace demo
--scale N` calls it. Each chain is written in one transaction, as a batch append would be.

Users share the password DEMO_PASSWORD (printed by scripts/serve); change it before real use.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from farmtrace.services.append import append_custodial

from farmtrace.services.transaction import Actor, AppendTx, StoredEvent
from farmtrace.services.ledger import Ledger

DEMO_PASSWORD = "bazhong-demo-2026"
CHINA = timezone(timedelta(hours=8))

ORGS: list[dict[str, Any]] = [
    {"org_id": "nanjiang-se-rice", "name": "南江县富硒稻米专业合作社", "kind": "producer", "family": "produce", "county": "511922"},
    {"org_id": "enyang-rice-mill", "name": "恩阳区粮油加工厂", "kind": "processor", "family": "produce", "county": "511903"},
    {"org_id": "yunding-tea", "name": "南江县高山茶叶专业合作社", "kind": "producer", "family": "produce", "county": "511922"},
    {"org_id": "qingyu-pig-farm", "name": "通江县青峪猪生态养殖场", "kind": "producer", "family": "pork", "county": "511921"},
    {"org_id": "bazhong-meat-park", "name": "巴中西部肉类食品加工园屠宰厂", "kind": "processor", "family": "pork", "county": "511902"},
    {"org_id": "pingchang-distillery", "name": "平昌白酒工业园酿酒厂", "kind": "processor", "family": "baijiu", "county": "511923"},
    {"org_id": "guangwu-spring", "name": "光雾山矿泉水有限公司", "kind": "processor", "family": "water", "county": "511922"},
    {"org_id": "bashan-coldchain", "name": "巴山冷链物流有限公司", "kind": "carrier", "family": None, "county": "511902"},
    {"org_id": "bazhou-market", "name": "巴州区江北生鲜超市", "kind": "retailer", "family": None, "county": "511902"},
    {"org_id": "pingchang-shop", "name": "平昌县江口镇副食店", "kind": "retailer", "family": None, "county": "511923"},
    {"org_id": "bazhong-testing", "name": "巴中市农产品质量安全检测中心", "kind": "lab", "family": None, "county": "511902",
     "cma": "242312050117"},
    {"org_id": "bazhong-samr", "name": "巴中市市场监督管理局", "kind": "regulator", "family": None, "county": "511902"},
]
# Contact details (location descriptions of the FSMA 204 sheet); made-up demo addresses and numbers.
CONTACTS: dict[str, tuple[str, str]] = {  # org -> (address, phone)
    "nanjiang-se-rice": ("四川省巴中市南江县长赤镇富硒大道 8 号", "0827-8861001"),
    "enyang-rice-mill": ("四川省巴中市恩阳区工业园区粮油路 12 号", "0827-3361002"),
    "yunding-tea": ("四川省巴中市南江县云顶镇茶园路 1 号", "0827-8861003"),
    "qingyu-pig-farm": ("四川省巴中市通江县青峪镇养殖小区 3 号", "0827-7261004"),
    "bazhong-meat-park": ("四川省巴中市巴州区西部肉类食品加工园 1 号", "0827-5261005"),
    "pingchang-distillery": ("四川省巴中市平昌县白酒工业园 6 号", "0827-6261006"),
    "guangwu-spring": ("四川省巴中市南江县光雾山镇泉水路 2 号", "0827-8861007"),
    "bashan-coldchain": ("四川省巴中市巴州区物流园冷链中心", "0827-5261008"),
    "bazhou-market": ("四川省巴中市巴州区江北大道 66 号", "0827-5261009"),
    "pingchang-shop": ("四川省巴中市平昌县江口镇正街 18 号", "0827-6261010"),
    "bazhong-testing": ("四川省巴中市巴州区检测中心路 5 号", "0827-5261011"),
    "bazhong-samr": ("四川省巴中市巴州区行政中心", "0827-5261012"),
}

LICENCES = {  # demo numbers in the licences' formats (the orgs are the demo's own)
    "enyang-rice-mill": ("sc", "SC10151190300015"), "yunding-tea": ("sc", "SC11451192200023"),
    "bazhong-meat-park": ("slaughter", "A51190201"), "qingyu-pig-farm": ("animal_epidemic", "(川)动防合字第511921000123号"),
}

USERS = [("rice", "nanjiang-se-rice", "producer"), ("mill", "enyang-rice-mill", "producer"),
         ("tea", "yunding-tea", "producer"), ("pigfarm", "qingyu-pig-farm", "producer"),
         ("meat", "bazhong-meat-park", "producer"), ("distillery", "pingchang-distillery", "producer"),
         ("water", "guangwu-spring", "producer"), ("shop", "bazhou-market", "producer"),
         ("lab", "bazhong-testing", "producer"), ("regulator", "bazhong-samr", "regulator"),
         ("admin", "bazhong-samr", "admin"), ("pigfarm-admin", "qingyu-pig-farm", "admin"),
         ("meat-admin", "bazhong-meat-park", "admin")]

LAB, SAMR = "bazhong-testing", "bazhong-samr"
# Each brand owner's GS1 company prefix, under GS1 prefix 952 (reserved by GS1 for demonstrations and
# examples, so no real company's GTINs are used), and the GTIN of the product it packs.
PREFIXES = {"enyang-rice-mill": "9521001", "guangwu-spring": "9521002", "bazhong-meat-park": "9521003",
            "pingchang-distillery": "9521004", "yunding-tea": "9521005"}
GTINS = {"rice": "09521001005012", "water": "09521002005509", "pork": "09521003002002", "baijiu": "09521004050057"}
SHOPS = ("bazhou-market", "pingchang-shop")


class Writer:
    """Appends one chain's events in one transaction, keeping the hashes later events name."""

    def __init__(self, tx: AppendTx, start: datetime) -> None:
        self.tx, self.now = tx, start

    def at(self, days: float = 0, hours: float = 0) -> str:
        self.now += timedelta(days=days, hours=hours)
        return self.now.replace(microsecond=0).isoformat()

    def add(self, org: str, type: str, batch: str, data: dict[str, Any], *, days: float = 0,
            hours: float = 1) -> StoredEvent:
        return append_custodial(self.tx, {"type": type, "batch": batch, "at": self.at(days, hours), "data": data},
                                actor=Actor(org=org))

    def test(self, holder: str, batch: str, sample_id: str, results: list[dict[str, Any]], *, days: float = 1) -> None:
        sample = self.add(holder, "sample", batch, {"lab": LAB, "sample_id": sample_id}, days=days)
        for result in results:
            self.add(LAB, "test", batch, {"sample": sample.hash, "method": "GB 5009", "report_no": f"BZ-{sample_id}",
                                          **result}, hours=2)

    def handoff(self, batch: str, frm: str, to: str, quantity: str, unit: str, *, certificate: str | None = None,
                **extra: Any) -> None:
        """Ship and receive; a lot with a 承诺达标合格证 carries its number, which the buyer records."""
        cert = {"certificate_no": certificate} if certificate else {}
        shipped = self.add(frm, "ship", batch, {"to": to, "quantity": quantity, "unit": unit,
                                                "doc": f"DN-{batch}", **cert, **extra}, days=1)
        self.add(to, "receive", batch, {"ship": shipped.hash, "quantity": quantity, "unit": unit, **cert}, hours=5)

    def certify(self, org: str, batch: str, number: str, product: str, quantity: str, unit: str, county: str,
                town: str, basis: str, reports: list[str]) -> None:
        """Issue the lot's 承诺达标合格证 as it leaves the farm (农业农村部令 2025 年第 4 号)."""
        self.add(org, "certificate_issued", batch, {
            "certificate_no": number, "product": product, "quantity": quantity, "unit": unit, "county": county,
            "town": town, "contact_phone": CONTACTS[org][1], "basis": basis,
            **({"reports": reports} if reports else {})}, hours=0.5)

    def transform(self, org: str, inputs: list[tuple[Any, ...]], outputs: list[dict[str, Any]], process: str,
                  **extra: Any) -> None:
        """Consume each input (batch, quantity, unit[, extra input fields]) and start each output."""
        ids = [o["batch"] for o in outputs]
        consumed = [self.add(org, "consume", i[0], {"quantity": i[1], "unit": i[2], "into": ids}, days=1)
                    for i in inputs]
        links = [{"batch": c.body.batch, "event": c.hash, "quantity": c.body.data["quantity"],
                  "unit": c.body.data["unit"], **(i[3] if len(i) > 3 else {})} for c, i in zip(consumed, inputs)]
        for output in outputs:
            data = {k: v for k, v in output.items() if k != "batch"}
            self.add(org, "transform", output["batch"], {**data, "process": process, "inputs": links, **extra},
                     hours=0)


def rice_chain(w: Writer, n: int, rng: random.Random) -> None:
    """Paddy plots → harvest → lab → mill → 富硒 rice packs → supermarkets."""
    farm, mill = "nanjiang-se-rice", "enyang-rice-mill"
    plot = f"plot-nj-{n}"
    area = str(rng.randint(20, 60))
    w.add(farm, "create", plot, {"product": "南江富硒稻田", "lot": f"CC-{n}", "family": "produce", "quantity": area,
                                 "unit": "mu", "place": "南江县 长赤镇"})
    w.add(farm, "plot_registered", plot, {"plot_id": f"CC-{n}", "county": "511922", "area": area, "area_unit": "mu",
                                          "soil_se": f"0.{rng.randint(40, 70)}", "land_use": "paddy"})
    applied = w.at(days=120)
    w.add(farm, "input_applied", plot, {"product_name": "有机肥", "active_ingredient": "有机质", "dose": "200",
                                        "dose_unit": "KGM", "date": applied[:10], "phi_days": "0"})
    paddies = []
    for k in range(2):  # two harvests of the plot, milled together: a merge in the lineage
        paddy, kg = f"paddy-nj-{n}-{k}", rng.randint(8, 20) * 100
        w.add(farm, "harvested", paddy, {"product": "南江富硒稻谷", "lot": f"NJP-{n}-{k}", "family": "produce",
                                         "quantity": str(kg), "unit": "KGM", "plot": plot, "crop": "水稻",
                                         "moisture": "18.5", "place": "南江县 长赤镇 富硒稻田",
                                         "activity": [{"kind": "fertiliser", "amount": str(kg // 100), "unit": "kg",
                                                       "nutrient": "N"},
                                                      {"kind": "fuel", "amount": "6", "unit": "L", "fuel": "diesel"}]},
          days=60 if k == 0 else 2)
        w.test(farm, paddy, f"P{n}-{k}", [{"analyte": "Se", "value": f"0.{rng.randint(6, 25):02d}", "unit": "mg/kg",
                                           "category": "paddy"},
                                          {"analyte": "Cd", "value": f"0.0{rng.randint(1, 9)}", "unit": "mg/kg",
                                           "category": "paddy"}])
        w.certify(farm, paddy, f"HGZ-511922-{n}{k}", "南江富硒稻谷", str(kg), "KGM", "511922", "长赤镇",
                  "commissioned_test", [f"BZ-P{n}-{k}"])
        w.handoff(paddy, farm, mill, str(kg), "KGM", certificate=f"HGZ-511922-{n}{k}")
        paddies.append((paddy, str(kg), "KGM"))
    total = sum(int(p[1]) for p in paddies)
    rice = f"rice-nj-{n}"
    rice_kg = total * rng.choice((62, 66, 70)) // 100
    w.transform(mill, paddies, [{"batch": rice, "product": "南江富硒大米 5kg", "lot": f"NJR-{n}", "family": "produce",
                                 "quantity": str(rice_kg), "unit": "KGM"}], "milling",
                activity=[{"kind": "electricity", "amount": "120", "unit": "kWh"}])
    w.test(mill, rice, f"R{n}", [{"analyte": "Se", "value": f"0.{rng.randint(18, 28)}", "unit": "mg/kg",
                                  "category": "rice"}])
    # The city's public brand 巴食巴适, licensed to the mill for this product (docs/domain-sources.md);
    # the licence's dates are the demo's, and one runs out soon, for the desk's expiry list.
    w.add(mill, "observe", rice, {"step": "certified", "scheme": "brand_licence", "mark": "巴食巴适",
                                  "certificate_no": f"BSBS-2025-{n % 1000:03d}", "issuer": "巴中市巴食巴适产业协会",
                                  "scope": "南江富硒大米", "scope_codes": ["rice"],
                                  "valid_from": "2025-07-01", "valid_until": "2026-06-30" if n else "2028-06-30"},
          hours=0.5)
    if n == 0:  # a green food licence of the demo's own numbering, with its PDF when the ledger keeps files
        document = demo_pdf(w.tx.documents, ["Green food licence (demo)", f"LB-DEMO-2506{n:04d}A",
                                             "Product: Nanjiang selenium-rich rice", "Valid 2025-06-01 to 2028-05-31"])
        w.add(mill, "observe", rice, {"step": "certified", "scheme": "green_food", "certificate_no": f"LB-DEMO-2506{n:04d}A",
                                      "issuer": "中国绿色食品发展中心", "scope": "大米", "scope_codes": ["rice"],
                                      "valid_from": "2025-06-01", "valid_until": "2028-05-31",
                                      **({"document": document} if document else {})}, hours=0.5)
    w.add(mill, "packed", rice, {"gtin": GTINS["rice"], "units": str(rice_kg // 5), "net_content": "5 kg",
                                 "claims": ["富硒"], "sc_licence": LICENCES["enyang-rice-mill"][1],
                                 "activity": [{"kind": "packaging", "amount": str(rice_kg // 5 * 3 // 100),
                                               "unit": "kg", "material": "plastic"}]})
    shop = SHOPS[n % len(SHOPS)]
    w.handoff(rice, mill, shop, str(rice_kg), "KGM",
              activity=[{"kind": "transport", "amount": str(rice_kg * 45 // 1000), "unit": "TKM", "mode": "road"}])
    w.add(shop, "sell", rice, {"quantity": "5", "unit": "KGM"}, days=2)


def tea_chain(w: Writer, n: int, rng: random.Random) -> None:
    """Fresh leaves of 南江大叶茶 → same-day processing → tested 富硒 green tea → shop."""
    garden = "yunding-tea"
    leaf, tea = f"leaf-yd-{n}", f"tea-yd-{n}"
    kg = rng.randint(3, 9) * 100
    w.add(garden, "harvested", leaf, {"product": "云顶茶鲜叶", "lot": f"YDL-{n}", "family": "produce",
                                      "quantity": str(kg), "unit": "KGM", "plot": f"YD-{n % 12}", "crop": "茶",
                                      "variety": "南江大叶茶", "place": "南江县 云顶茶园 (海拔 1,100 m)",
                                      "activity": [{"kind": "fertiliser", "amount": str(kg // 50), "unit": "kg",
                                                    "nutrient": "N"}]})
    # Fresh leaves are pre-cooled and packed into crates before processing: the FSMA 204 sheet's
    # cooling and initial packing events (docs/exports.md).
    w.add(garden, "temperature_logged", leaf, {"device": f"YC-{n}", "value": "8.5", "unit": "CEL", "probe": "air",
                                               "regime": "precooling", "place": "云顶茶园 预冷间"})
    w.add(garden, "packed", leaf, {"units": str(kg // 20), "net_content": "20 kg", "place": "云顶茶园 鲜叶分装间"},
          hours=0.5)
    w.transform(garden, [(leaf, str(kg), "KGM")], [{"batch": tea, "product": "巴中云顶富硒绿茶", "lot": f"YD-{n}",
                                                    "family": "produce", "quantity": str(kg * 22 // 100),
                                                    "unit": "KGM"}], "withering, fixing, rolling, drying",
                certificate_no=f"HGZ-511922-T{n}",
                activity=[{"kind": "electricity", "amount": str(kg * 22 // 100 * 4), "unit": "kWh"}])
    # 巴中云顶, the city's tea brand, licensed for the product that carries its name (docs/domain-sources.md)
    w.add(garden, "observe", tea, {"step": "certified", "scheme": "brand_licence", "mark": "巴中云顶",
                                   "certificate_no": f"YD-2025-{n % 1000:03d}", "issuer": "巴中市茶业协会",
                                   "scope": "巴中云顶富硒绿茶", "scope_codes": ["tea"],
                                   "valid_from": "2025-03-01", "valid_until": "2028-02-29"}, hours=0.5)
    if n == 1:  # an organic certificate that ran out before this tea was made: flagged as expired, no 绿色 claim
        w.add(garden, "observe", tea, {"step": "certified", "scheme": "organic", "certificate_no": "OG-DEMO-2022-0417",
                                       "issuer": "中绿华夏有机产品认证中心", "scope": "茶叶", "scope_codes": ["tea"],
                                       "valid_from": "2022-03-01", "valid_until": "2025-02-28"}, hours=0.5)
    w.test(garden, tea, f"T{n}", [{"analyte": "Se", "value": f"0.{rng.randint(30, 90)}", "unit": "mg/kg",
                                   "category": "tea"},
                                  {"analyte": "Pb", "value": f"{rng.randint(5, 20) / 10}", "unit": "mg/kg",
                                   "category": "tea"}])
    w.add(garden, "packed", tea, {"claims": ["富硒"], "units": str(kg * 22 // 25), "net_content": "250 g",
                                  "sc_licence": LICENCES["yunding-tea"][1]})
    shop = SHOPS[n % len(SHOPS)]
    w.handoff(tea, garden, shop, str(kg * 22 // 100), "KGM")


def water_chain(w: Writer, n: int, rng: random.Random) -> None:
    """A protected mineral spring → an ozone bottling run → fill → release tests → retailers."""
    plant = "guangwu-spring"
    source = f"spring-gws-{n}"
    w.add(plant, "source_registered", source, {
        "product": "光雾山 1号泉 原水", "lot": f"GWS-{n}", "family": "water", "quantity": "50000000", "unit": "LTR",
        "source_id": f"GWS-{n}", "kind": "mineral", "permit_no": "取水(川巴)字[2024]第0012号",
        "protection_zone": "一级保护区 50 m", "county": "511922", "temperature": "14.5",
        "mining_licence_no": "C5119002024017120000012",
        "survey_ref": "GB/T 13727 勘查报告 2023-07", "indicators": {"metasilicic_acid": "32.0"},
        "place": "南江县 光雾山 1号泉"})
    litres = rng.randint(5, 15) * 1000
    day = datetime(2026, 1, 1, tzinfo=CHINA) + timedelta(days=n // 48, minutes=(n % 48) * 30)  # one run per slot
    run = f"run-L2-{n}"
    lot = f"L2-{day:%Y%m%d}-{day:%H%M}"
    w.transform(plant, [(source, str(litres), "LTR")], [{
        "batch": run, "product": "光雾山天然矿泉水 550mL", "lot": lot[:20], "family": "water", "quantity": str(litres),
        "unit": "LTR"}], "bottling", line="L2", treatment=["filtration", "ozone", "UV"])
    w.test(plant, run, f"W{n}", [{"analyte": "H2SiO3", "value": "32.1", "unit": "mg/L", "category": "mineral_water"}],
           days=0)
    count = litres * 1000 // 550
    w.add(plant, "packed", run, {"size_ml": "550", "count": str(count), "cap_lot": f"CAP-{n}",
                                 "gtin": GTINS["water"], "claims": ["天然矿泉水"]})
    w.test(plant, run, f"WR{n}", [{"analyte": a, "value": "0", "unit": "CFU/250mL", "category": "mineral_water"}
                                  for a in ("大肠菌群", "faecal_streptococci", "pseudomonas_aeruginosa",
                                            "clostridium_perfringens")]
           + [{"analyte": "溴酸盐", "value": "4", "unit": "µg/L", "category": "mineral_water"},
              {"analyte": "Se", "value": "0.02", "unit": "mg/L", "category": "mineral_water"}])
    shop = SHOPS[n % len(SHOPS)]
    w.handoff(run, plant, shop, str(litres), "LTR")
    w.add(shop, "sell", run, {"quantity": "55", "unit": "LTR"}, days=3)


def pork_chain(w: Writer, n: int, rng: random.Random) -> None:
    """青峪猪 from a 通江 farm → quarantine → slaughter (ASF, 瘦肉精 tests, 两证两章) → cold chain → cuts → shop."""
    farm, plant, shop = "qingyu-pig-farm", "bazhong-meat-park", SHOPS[n % len(SHOPS)]
    head = rng.randint(4, 12)
    tags = [f"1511921{(n * 100 + i) % 10**8:08d}" for i in range(head)]
    pigs, carcass, cuts = f"pigs-qy-{n}", f"carcass-qy-{n}", f"cuts-qy-{n}"
    w.add(farm, "animal_tagged", pigs, {"product": "青峪猪 生猪", "lot": f"QY-{n}", "family": "pork",
                                        "quantity": str(head), "unit": "head", "tags": tags,
                                        "birth_or_arrival": (w.now - timedelta(days=20)).date().isoformat(),
                                        "breed": "青峪猪", "place": "通江县 青峪镇 养殖场"})
    w.add(farm, "fed", pigs, {"feed": "育肥猪配合饲料", "supplier": "巴中饲料厂", "lot": f"F-{n}", "kg": str(head * 25),
                              "additives": ["复合维生素"],
                              "activity": [{"kind": "feed", "amount": str(head * 25), "unit": "kg",
                                            "feed": "compound"}]}, days=10)
    # 青峪猪 is a GI certification mark (2015; docs/domain-sources.md): the farm is an authorised user
    w.add(farm, "observe", pigs, {"step": "certified", "scheme": "gi_mark", "mark": "青峪猪",
                                  "certificate_no": "GI-QYZ-2015-DEMO", "issuer": "通江县青峪猪协会",
                                  "scope": "青峪猪", "scope_codes": ["pork"],
                                  "valid_from": "2024-01-01", "valid_until": "2029-12-31"}, hours=0.5)
    w.add(farm, "immunised", pigs, {"vaccine": "猪瘟活疫苗", "batch": f"V-{n}", "dose": "1", "dose_unit": "头份",
                                    "vet": "驻场兽医"}, days=10)
    cert = f"51192100{n % 100000:05d}"
    w.add(farm, "quarantined", pigs, {"certificate_no": cert, "issuer": "通江县动物卫生监督所", "head": str(head),
                                      "tags": tags}, days=150)
    live = str(head * 118)
    w.certify(farm, pigs, f"HGZ-QY-{n}", "青峪猪 生猪", str(head), "head", "511921", "青峪镇", "quality_control", [])
    shipped = w.add(farm, "ship", pigs, {"to": plant, "quantity": str(head), "unit": "head", "doc": cert,
                                         "certificate_no": f"HGZ-QY-{n}", "live_weight": live,
                                         "vehicle_no": "川Y12345"}, days=1)
    w.add(plant, "receive", pigs, {"ship": shipped.hash, "quantity": str(head), "unit": "head",
                                   "certificate_no": f"HGZ-QY-{n}", "live_weight": live, "tags": tags}, hours=4)
    w.add(plant, "inspected", pigs, {"stage": "ante-mortem", "certificate_no": cert, "result": "pass"})
    w.test(plant, pigs, f"A{n}", [
        {"analyte": "ASFV", "method": "GB/T 18648-2020", "value": None, "lod": "10", "unit": "copies/µL",
         "report_no": f"ASF-{n}"},
        {"analyte": "克伦特罗", "method": "GB/T 22286-2008", "value": None, "lod": "0.1", "unit": "µg/kg",
         "report_no": f"BA-{n}"}], days=0)
    carcass_kg = head * 88
    w.transform(plant, [(pigs, str(head), "head")], [{
        "batch": carcass, "product": "青峪猪 白条", "lot": f"C-{n}", "family": "pork", "quantity": str(carcass_kg),
        "unit": "KGM"}], "slaughter", asf_reports=[f"ASF-{n}"],
        activity=[{"kind": "electricity", "amount": str(head * 15), "unit": "kWh"}])
    meat_cert = f"51190200{n % 100000:05d}"  # the carcass's own 动物检疫合格证明 (产品), not the live pigs' number
    w.add(plant, "inspected", carcass, {"stage": "post-mortem", "quarantine_certificate": meat_cert,
                                        "quality_certificate": f"RP-{n}"})
    w.add(plant, "temperature_logged", carcass, {"device": "T-01", "value": "21.5", "unit": "CEL", "probe": "core",
                                                 "location": "core", "regime": "chilling"})
    w.add(plant, "temperature_logged", carcass, {"device": "T-01", "value": f"{rng.randint(10, 38) / 10}",
                                                 "unit": "CEL", "probe": "core", "location": "core",
                                                 "regime": "chilled"}, hours=18)
    cut_kg = carcass_kg * 7 // 10
    w.transform(plant, [(carcass, str(carcass_kg), "KGM")], [{
        "batch": cuts, "product": "青峪猪 后腿肉", "lot": f"K-{n}", "family": "pork", "quantity": str(cut_kg),
        "unit": "KGM"}], "cutting", asf_reports=[f"ASF-{n}"],
        meat_certificates=[{"quarantine": meat_cert, "quality": f"RP-{n}"}])
    reading = "5.1" if n % 5 == 1 else f"{rng.randint(15, 35) / 10}"  # now and then a warm reading: a warning
    w.add(plant, "temperature_logged", cuts, {"device": "C-07", "value": reading, "unit": "CEL", "probe": "air",
                                              "regime": "chilled"})
    w.test(plant, cuts, f"K{n}", [{"analyte": "lead", "method": "GB 5009.12-2017", "value": "0.05",
                                   "unit": "mg/kg", "report_no": f"PB-{n}"}], days=0)
    w.add(plant, "packed", cuts, {"gtin": GTINS["pork"], "units": str(cut_kg // 2), "net": "2", "net_unit": "KGM",
                                  "pack_date": w.now.date().isoformat()})
    w.handoff(cuts, plant, shop, str(cut_kg), "KGM",
              activity=[{"kind": "transport", "amount": str(cut_kg * 20 // 1000), "unit": "TKM", "mode": "road",
                         "refrigerated": True}])
    w.add(shop, "stored", cuts, {"place": "冷藏展示柜", "activity": [  # the shop's own share: cold display
        {"kind": "electricity", "amount": "6", "unit": "kWh"}]}, hours=2)
    w.add(shop, "sell", cuts, {"quantity": "1.5", "unit": "KGM"}, days=1)


def baijiu_chain(w: Writer, n: int, rng: random.Random) -> None:
    """平昌 浓香型: fermented grains (aged since 2019) → base liquors → blend → tests → serialised bottles → shop."""
    plant, shop = "pingchang-distillery", SHOPS[n % len(SHOPS)]
    grains, base_a, base_b = f"grains-pc-{n}", f"base-a-pc-{n}", f"base-b-pc-{n}"
    blend, bottles = f"blend-pc-{n}", f"bottles-pc-{n}"
    w.now = datetime(2019, 9, 1, 8, tzinfo=CHINA) + timedelta(hours=n % 2000)
    w.add(plant, "create", grains, {"product": "浓香型酒醅", "lot": f"JP-{n}", "family": "baijiu", "quantity": "8000",
                                    "unit": "KGM", "place": "平昌县 白酒工业园 老窖池"})
    w.add(plant, "fermented", grains, {"pit": f"P-{n % 40:02d}", "pit_age": "32", "round": "3",
                                       "grain_lots": [f"GL-{n}"], "qu_lots": [f"Q-{n}"], "kg": "8000",
                                       "sealed": w.now.date().isoformat(),
                                       "opened": (w.now + timedelta(days=49)).date().isoformat()}, days=0)
    w.now += timedelta(days=49)
    w.transform(plant, [(grains, "4000", "KGM")], [{"batch": base_a, "product": "基酒 一级", "lot": f"BA-{n}",
                                                    "family": "baijiu", "quantity": "300", "unit": "LTR"}],
                "distillation", abv="65")
    w.transform(plant, [(grains, "4000", "KGM")], [{"batch": base_b, "product": "基酒 二级", "lot": f"BB-{n}",
                                                    "family": "baijiu", "quantity": "200", "unit": "LTR"}],
                "distillation", abv="55")
    for base, volume, abv in ((base_a, "300", "65"), (base_b, "200", "55")):
        w.add(plant, "stored", base, {"vessel": f"陶坛 T-{n}", "start": w.now.date().isoformat(), "volume": volume,
                                      "abv": abv}, days=14)
    w.now = datetime(2026, 3, 10, 8, tzinfo=CHINA) + timedelta(hours=n % 2000)
    w.transform(plant, [(base_a, "300", "LTR", {"abv": "65"}), (base_b, "200", "LTR", {"abv": "55"})], [{
        "batch": blend, "product": "平昌 巴山窖 五年", "lot": f"BL-{n}", "family": "baijiu", "quantity": "586.5",
        "unit": "LTR"}], "blending", abv="52", water="100", recipe="R-5Y", age_claim="5")
    w.test(plant, blend, f"B{n}", [
        {"analyte": "酒精度", "method": "GB 5009.225-2016", "value": "52.1", "unit": "%vol", "report_no": f"BJ-{n}-1"},
        {"analyte": "甲醇", "method": "GB 5009.266-2016", "value": f"0.{rng.randint(10, 30)}", "unit": "g/L",
         "report_no": f"BJ-{n}-2"},
        {"analyte": "氰化物", "method": "GB 5009.36-2016", "value": "1.2", "unit": "mg/L", "report_no": f"BJ-{n}-3"}],
        days=0)
    w.transform(plant, [(blend, "500", "LTR")], [{"batch": bottles, "product": "平昌 巴山窖 五年 52%vol 500mL",
                                                  "lot": f"PC{n}", "family": "baijiu", "quantity": "1000",
                                                  "unit": "bottle"}], "bottling", bottle_ml="500", line="L2",
                age_claim="5")
    w.add(plant, "commissioned", bottles, {"first_serial": f"PC{n:06d}0001", "last_serial": f"PC{n:06d}1000",
                                           "count": "1000"})
    w.add(plant, "packed", bottles, {"gtin": GTINS["baijiu"], "units": "1000", "case_of": "6", "label": {
        "abv": "52", "abv_unit": "%vol", "warning": "过量饮酒有害健康", "sc": "SC11551192300012", "strength": "high",
        "age_claim": "5"}})
    w.handoff(bottles, plant, shop, "1000", "bottle")
    w.add(shop, "sell", bottles, {"quantity": "6", "unit": "bottle"}, days=1)


CHAINS: list[Callable[[Writer, int, random.Random], None]] = [rice_chain, tea_chain, water_chain, pork_chain,
                                                               baijiu_chain]


def _write_chain(ledger: Ledger, chain: Callable[[Writer, int, random.Random], None], n: int,
                 rng: random.Random, start: datetime) -> None:
    ledger.appending(lambda tx: chain(Writer(tx, start), n, rng))


def setup_orgs(ledger: Ledger) -> None:
    ledger.init()
    from farmtrace.services.admin import edit_org, set_licence
    for org in ORGS:
        ledger.create_org(**org)
        address, phone = CONTACTS[str(org["org_id"])]
        edit_org(ledger, str(org["org_id"]), by_user=None, address=address, contact_phone=phone)
    for org_id, (kind, number) in LICENCES.items():
        set_licence(ledger, org_id, kind, number, by_user=None)
    for username, org_id, role in USERS:
        ledger.create_user(org_id, username, DEMO_PASSWORD, role=role)
    record_trust(ledger)


def record_trust(ledger: Ledger) -> None:
    """Give the demo's brand owners their company prefixes and its lab its CMA number, if not yet recorded
    (a demo loaded before both existed; issue 11): packing and lab samples need them."""
    for org_id, prefix in PREFIXES.items():
        ledger.add_company_prefix(org_id, prefix)
    with ledger.uow() as uow:
        lab = uow.org(LAB)
        missing = lab is not None and not lab.cma_number
    if missing:
        ledger.set_cma(LAB, next(str(o["cma"]) for o in ORGS if o["org_id"] == LAB))


def demo_pdf(documents: Any, lines: list[str]) -> str | None:
    """A small real one-page PDF (Helvetica, ASCII lines), stored in the ledger's document store when it
    has one; its SHA-256, or None. Built by hand, byte for byte the same every time (no dependency)."""
    if documents is None:
        return None
    text = "BT /F1 14 Tf 50 780 Td 18 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
               "/Contents 5 0 R >>", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               f"<< /Length {len(text)} >>\nstream\n{text}\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return str(documents.save(bytes(out)).sha256)


def load_demo(ledger: Ledger, *, cap_codes: Path | None = None, base_url: str = "") -> bool:
    """Write the demo data set into an empty ledger; return False (writing nothing) otherwise.

    The bottles get cap codes (farmtrace.services.cap_codes); their clear codes are written to
    `cap_codes` (the CLI: <instance>/demo-cap-codes.csv, mode 0600), so a person trying the demo
    can mark a bottle opened. Without `cap_codes` they are issued and not kept anywhere."""
    with ledger.uow() as uow:
        if uow.batches(limit=1) or uow.orgs():
            return False
    setup_orgs(ledger)
    rng = random.Random(2026)
    start = datetime(2026, 3, 1, 8, 0, tzinfo=CHINA)
    for chain in CHAINS:
        for n in range(2):
            _write_chain(ledger, chain, n, rng, start + timedelta(days=n * 7))
    from farmtrace.services.lineage import recall
    recall(ledger, "paddy-nj-1-0", actor=Actor(org=SAMR), reason="抽检复核：镉含量存疑，召回该批稻谷及其加工产品 (GB 2762-2022)")
    from farmtrace.services.cap_codes import issue_cap_codes, save_private, to_csv
    issued = [issue_cap_codes(ledger, f"bottles-pc-{n}") for n in range(2)]
    if cap_codes is not None:
        save_private(cap_codes, to_csv(issued, base_url=base_url), replace=True)
    from farmtrace.services.log import make_checkpoint
    make_checkpoint(ledger)  # publish the whole demo: every entry is covered by a signed checkpoint
    return True


def grow(ledger: Ledger, events: int, *, seed: int = 1, progress: Callable[[int], None] | None = None) -> int:
    """Write randomised chains until the log holds at least `events` entries; return the log size."""
    with ledger.uow() as uow:
        fresh = not uow.orgs()
    if fresh:
        setup_orgs(ledger)
    else:
        record_trust(ledger)
    rng = random.Random(seed)
    with ledger.uow() as uow:
        size = uow.log_size()
        n = uow.execute("SELECT COUNT(*) FROM batches").scalar() or 0
    # The longest chains (rice, pork) span about 200 days and start up to 5,000 hours after `start`:
    # every event stays in the past, as the append-time rule on `at` requires (core/event_times.py).
    start = datetime(2025, 1, 1, 8, 0, tzinfo=CHINA)
    reported = size
    while size < events:
        chain = CHAINS[n % len(CHAINS)]
        _write_chain(ledger, chain, 10_000 + n, rng, start + timedelta(hours=n % 5000))
        n += 1
        with ledger.uow() as uow:
            size = uow.log_size()
        if progress and size - reported >= 10_000:
            progress(size)
            reported = size
    return size
