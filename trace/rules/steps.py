"""The steps every family shares (DESIGN.md "The ledger"): a batch's creation, custody handoffs,
transformations, lab samples and tests, sales, recalls and the free-form records families fill with
their own KDEs. One declaration each; family steps live in `farmtrace.rules.families.<family>`.

A batch's first event is `create` (or a family's genesis step, or `transform` for a batch made from
inputs). Custody moves by `ship` (the whole held quantity, to a named org) and `receive`; the sender
may `cancel` a shipment not yet received. A transformation's output starts with `transform`, naming
for each input the input's `consume` event. `sample` sends part of a lot to an accredited lab, whose
`test` names the sample; the verdict is computed by the family's thresholds, never typed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.events import IDENT, LOT, require_decimal, require_hash, require_org, require_text
from farmtrace.rules.carbon import ACTIVITY, ALLOCATION, KIND_WORDS, VALUE
from farmtrace.rules.declare import COMMON_KDES, STEP_NAMES, VALUE_NAMES, Declaration, Kde, declare
from farmtrace.rules.certified import check_certified, is_certificate

FAMILIES: dict[str, tuple[str, str]] = {
    "produce": ("富硒农产品", "Selenium-rich produce"), "pork": ("生猪及猪肉", "Pigs and pork"),
    "baijiu": ("白酒", "Baijiu"), "water": ("包装饮用水", "Packaged drinking water"),
}


# ---- checks worded as the API has always worded them ---------------------------------------------

def _lot(data: Mapping[str, Any], name: str) -> None:
    lot = data.get(name)
    if not isinstance(lot, str) or not LOT.match(lot):
        raise InvalidEventError("data.lot must be 1-20 printable ASCII characters (GS1 AI 10)", field="data.lot")


def _family(data: Mapping[str, Any], name: str) -> None:
    if not isinstance(data.get(name), str) or data[name] not in FAMILIES:
        raise InvalidEventError(f"data.family must be one of {', '.join(FAMILIES)}", field="data.family")


def _hash(data: Mapping[str, Any], name: str) -> None:
    require_hash(data, name)


def _org(data: Mapping[str, Any], name: str) -> None:
    require_org(data, name)


def _free(data: Mapping[str, Any], name: str) -> None:
    """A KDE of a free-form record: the family's rules judge it, the envelope does not."""


def _inputs(data: Mapping[str, Any], name: str) -> None:
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or not 1 <= len(inputs) <= 100:
        raise InvalidEventError("data.inputs must list 1-100 inputs", field="data.inputs")
    for i, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise InvalidEventError(f"data.inputs[{i}] must be an object", field=f"data.inputs[{i}]")
        if not isinstance(item.get("batch"), str) or not IDENT.match(item["batch"]):
            raise InvalidEventError(f"data.inputs[{i}].batch must be a batch id", field=f"data.inputs[{i}].batch")
        require_hash(item, "event")
        require_decimal(item, "quantity", positive=True)
        require_text(item, "unit", max_len=16)


def _into(data: Mapping[str, Any], name: str) -> None:
    outputs = data.get("into")
    if not isinstance(outputs, list) or not 1 <= len(outputs) <= 100 or not all(
            isinstance(b, str) and IDENT.match(b) for b in outputs):
        raise InvalidEventError("data.into must list the output batch ids", field="data.into")


def _also(data: Mapping[str, Any], name: str) -> None:
    lots = data.get("also", [])
    if not isinstance(lots, list) or not all(isinstance(b, str) and IDENT.match(b) for b in lots):
        raise InvalidEventError("data.also must list batch ids", field="data.also")


def _test_value(data: Mapping[str, Any], name: str) -> None:
    if "verdict" in data:
        raise InvalidEventError("data.verdict is computed by farmtrace, not typed in", field="data.verdict")
    if data.get("value") is None:
        require_decimal(data, "lod")
    else:
        require_decimal(data, "value")


# ---- the KDEs several steps share ---------------------------------------------------------------------

def quantity(zh: str = "数量", en: str = "Quantity") -> tuple[Kde, Kde]:
    """A positive quantity and its unit (UN/ECE code: KGM, LTR, H87 ...)."""
    return (Kde("quantity", "decimal", zh, en, positive=True, unit_kde="unit",
                help_zh="大于零的数，如 12.5", help_en='a positive decimal, e.g. "12.5"'),
            Kde("unit", "text", "单位", "Unit", max_len=16, help_zh="如 千克 (KGM)、升 (LTR)、件 (H87)",
                help_en="e.g. KGM (kg), LTR (L), H87 (pieces)"))


NEW_BATCH: tuple[Kde, ...] = (
    Kde("product", "text", "产品", "Product", help_zh="产品名称，如 南江富硒大米", help_en="product name"),
    Kde("lot", "text", "批号", "Lot", check=_lot, help_zh="1–20 个字母数字 (GS1 AI 10)",
        help_en="1-20 printable ASCII characters (GS1 AI 10)"),
    Kde("family", "choice", "品类", "Family", check=_family, choices=FAMILIES),
    *quantity(),
)
"""What every batch-starting event records: product, lot, family, quantity, unit."""

PLACE = Kde("place", "text", "地点", "Place", required=False, check=_free)
PERSONAL = Kde("personal", "object", "个人信息", "Personal details", required=False, check=_free, hidden=True)


def validate_new_batch(data: Mapping[str, Any]) -> None:
    """Check the KDEs every batch-starting event records (families' genesis steps call this)."""
    for kde in NEW_BATCH:
        if kde.check is not None:
            kde.check(data, kde.name)
        elif kde.kind == "text":
            require_text(data, kde.name, max_len=kde.max_len)
        else:
            require_decimal(data, kde.name, positive=kde.positive)


INPUT_ITEM = (Kde("batch", "batch", "批次", "Batch"), Kde("event", "hash", "投入记录", "Consume record"),
              *quantity("用量", "Quantity used"))

EXAMPLE_HASH = "a" * 64  # stands for an event hash in the examples

# ---- the declarations ---------------------------------------------------------------------------------

CREATE = declare(Declaration("create", "批次建立", "Batch created", NEW_BATCH + (PLACE,), genesis=True, open=True,
                             example={"product": "南江富硒大米", "lot": "NJ-2026-01", "family": "produce",
                                      "quantity": "1200", "unit": "KGM", "place": "南江县 长赤镇"}))
def _observe(data: Mapping[str, Any]) -> None:
    if is_certificate(data):  # a certificate's KDEs are declared once for every family (rules/certified.py)
        check_certified(data)


OBSERVE = declare(Declaration("observe", "记录", "Recorded", (
    Kde("step", "text", "工序", "Step", max_len=64), PLACE), open=True, check=_observe,
    example={"step": "weighed", "place": "南江县 长赤镇"}))
CORRECT = declare(Declaration("correct", "更正", "Correction", (
    Kde("amends", "hash", "更正的记录", "Amends", check=_hash),
    Kde("reason", "text", "原因", "Reason", max_len=500)),
    example={"amends": EXAMPLE_HASH, "reason": "重量笔误，应为 1200 千克"}))
SHIP = declare(Declaration("ship", "发货", "Shipped", (
    Kde("to", "org", "收货方", "To", check=_org), *quantity(),
    Kde("doc", "text", "单据号", "Document", required=False, max_len=100),
    Kde("certificate_no", "text", "合格证编号", "Certificate no.", required=False, check=_free)), open=True,
    example={"to": "enyang-mill", "quantity": "1200", "unit": "KGM", "doc": "DN-2026-0042"}))
RECEIVE = declare(Declaration("receive", "收货", "Received", (
    Kde("ship", "hash", "发货记录", "Shipment", check=_hash), *quantity(),
    Kde("loss", "decimal", "途耗", "Loss in transit", required=False, unit_kde="unit")),
    by_non_holder=True, open=True,
    example={"ship": EXAMPLE_HASH, "quantity": "1195", "unit": "KGM", "loss": "5"}))
CANCEL = declare(Declaration("cancel", "取消发货", "Shipment cancelled", (
    Kde("ship", "hash", "发货记录", "Shipment", check=_hash),
    Kde("reason", "text", "原因", "Reason", max_len=500)),
    example={"ship": EXAMPLE_HASH, "reason": "车辆故障，改日再运"}))
TRANSFORM = declare(Declaration("transform", "加工", "Processed from inputs", (
    *NEW_BATCH, Kde("inputs", "items", "原料", "Inputs", check=_inputs, items=INPUT_ITEM),
    Kde("process", "text", "工艺", "Process", max_len=64), PLACE,
    Kde("certificate_no", "text", "合格证编号", "Certificate no.", required=False, check=_free),
    ALLOCATION, VALUE), genesis=True, open=True,
    example={"product": "南江富硒大米", "lot": "NJR-2026-01", "family": "produce", "quantity": "780", "unit": "KGM",
             "inputs": [{"batch": "paddy-nj-01", "event": EXAMPLE_HASH, "quantity": "1200", "unit": "KGM"}],
             "process": "milling"}))
CONSUME = declare(Declaration("consume", "投入加工", "Used in processing", (
    *quantity(), Kde("into", "list", "加工成", "Made into", check=_into)),
    example={"quantity": "1200", "unit": "KGM", "into": ["rice-nj-01"]}))
SAMPLE = declare(Declaration("sample", "抽样", "Sampled", (
    Kde("lab", "org", "检测机构", "Lab", check=_org),
    Kde("sample_id", "text", "样品编号", "Sample id", max_len=64)), open=True,
    example={"lab": "bazhong-lab", "sample_id": "S-2026-0815"}))
TEST = declare(Declaration("test", "检测", "Lab test", (
    Kde("sample", "hash", "样品记录", "Sample", check=_hash),
    Kde("analyte", "text", "检测项目", "Analyte", max_len=64),
    Kde("method", "text", "检测方法", "Method", max_len=64),
    Kde("unit", "text", "单位", "Unit", max_len=16),
    Kde("value", "decimal", "结果", "Result", check=_test_value, unit_kde="unit",
        help_zh="未检出时留空并填写检出限", help_en="leave empty when not detected and give the LOD"),
    Kde("lod", "decimal", "检出限", "LOD", required=False, check=_free, unit_kde="unit"),
    Kde("report_no", "text", "报告编号", "Report no.", max_len=64),
    Kde("category", "text", "食品类别", "Food category", required=False, check=_free)),
    by_non_holder=True, open=True,
    example={"sample": EXAMPLE_HASH, "analyte": "selenium", "method": "GB 5009.93-2017", "unit": "mg/kg",
             "value": "0.22", "report_no": "BZ-2026-0815", "category": "rice"}))
SELL = declare(Declaration("sell", "销售", "Sold", quantity(), open=True,
    example={"quantity": "24", "unit": "KGM"}))
RECALL = declare(Declaration("recall", "召回", "Recalled", (
    Kde("reason", "text", "原因", "Reason", max_len=500),
    Kde("also", "list", "一并召回的批次", "Also recalled", required=False, check=_also)), by_non_holder=True,
    example={"reason": "镉超标，召回同批次产品", "also": ["rice-nj-01"]}))
STORED = declare(Declaration("stored", "贮存", "Stored", (PLACE,), open=True,
    example={"place": "恩阳区 粮库 2 号仓"}))
PACKED = declare(Declaration("packed", "包装", "Packed", (
    Kde("gtin", "text", "商品条码", "GTIN", required=False, check=_free),
    Kde("lot", "text", "批号", "Lot", required=False, check=_free),
    Kde("units", "count", "件数", "Units", required=False, check=_free),
    Kde("net_content", "text", "净含量", "Net content", required=False, check=_free), PLACE), open=True,
    example={"gtin": "09521001005012", "lot": "NJR-2026-01", "units": "300", "net_content": "2.5 kg"}))
INSPECTED = declare(Declaration("inspected", "检验", "Inspected", (PLACE,), open=True,
    example={"place": "巴州区 屠宰车间"}))
TEMPERATURE_LOGGED = declare(Declaration("temperature_logged", "温度记录", "Temperature logged", (
    Kde("value", "decimal", "温度", "Temperature", required=False, check=_free, unit_kde="unit"),
    Kde("unit", "text", "单位", "Unit", required=False, check=_free, help_zh="°C (CEL)", help_en="°C (CEL)"),
    PLACE), open=True,
    example={"value": "3.5", "unit": "CEL", "place": "冷库 1 号"}))

COMMON_KDES.append(ACTIVITY)  # activity data (kWh, litres, t·km ...) on any event: rules/carbon.py
VALUE_NAMES.update(KIND_WORDS)  # activity kinds by name: 电力, 燃料, 运输 ...

STEP_NAMES.update({  # step words an `observe` may carry
    "planted": ("播种", "Planted"), "processed": ("加工", "Processed"), "milling": ("碾米", "Milling"),
    "dried": ("干燥", "Dried"), "weighed": ("称重", "Weighed"), "moved": ("转移", "Moved"),
    "certified": ("认证", "Certified"), "lab_result": ("检测结果", "Lab result"),
    "production_run": ("生产批次", "Production run"), "cleaned": ("清洗", "Cleaned"),
    "sorted": ("分拣", "Sorted"), "labelled": ("贴标", "Labelled"), "blended": ("勾调", "Blended"),
    "bottled": ("灌装", "Bottled"), "key_added": ("密钥登记", "Key added"), "key_revoked": ("密钥吊销", "Key revoked"),
})
VALUE_NAMES.update({"milling": ("碾米", "milling"), "blending": ("勾调", "blending"),
                    "slaughter": ("屠宰", "slaughter"), "cutting": ("分割", "cutting")})
VALUE_NAMES.update({  # analytes as labs write them (the rules' aliases); shown by name on pages
    "se": ("硒", "selenium"), "selenium": ("硒", "selenium"), "cd": ("镉", "cadmium"), "cadmium": ("镉", "cadmium"),
    "pb": ("铅", "lead"), "lead": ("铅", "lead"), "hg": ("汞", "mercury"), "mercury": ("汞", "mercury"),
    "total_mercury": ("总汞", "total mercury"), "as": ("砷", "arsenic"), "arsenic": ("砷", "arsenic"),
    "ias": ("无机砷", "inorganic arsenic"), "inorganic_arsenic": ("无机砷", "inorganic arsenic"),
    "moisture": ("水分", "moisture"), "methanol": ("甲醇", "methanol"), "cyanide": ("氰化物", "cyanide"),
    "asfv": ("非洲猪瘟病毒", "ASF virus"), "ractopamine": ("莱克多巴胺", "ractopamine"),
    "clenbuterol": ("克伦特罗", "clenbuterol"), "salbutamol": ("沙丁胺醇", "salbutamol"),
    "tvb-n": ("挥发性盐基氮", "TVB-N"), "bromate": ("溴酸盐", "bromate"), "nitrate": ("硝酸盐", "nitrate"),
    "nitrite": ("亚硝酸盐", "nitrite"), "metasilicic_acid": ("偏硅酸", "metasilicic acid"),
    "strontium": ("锶", "strontium"), "coliforms": ("大肠菌群", "coliforms"),
    "pseudomonas_aeruginosa": ("铜绿假单胞菌", "Pseudomonas aeruginosa"), "abv": ("酒精度", "alcohol"),
    "total_ester": ("总酯", "total esters"), "total_acid": ("总酸", "total acids"),
    "ethyl_caproate": ("己酸乙酯", "ethyl caproate"), "grain": ("粮谷", "grain"), "other": ("其他", "other"),
    "rice": ("大米", "rice"), "paddy": ("稻谷", "paddy"), "brown_rice": ("糙米", "brown rice"), "tea": ("茶叶", "tea"),
    "tea_leaves": ("茶鲜叶", "fresh tea leaves"), "pork": ("猪肉", "pork"), "pig": ("生猪", "live pigs"),
    "fungi": ("食用菌", "edible fungi"), "vegetables": ("蔬菜", "vegetables"), "fruit": ("水果", "fruit"),
    "cereals": ("谷物", "cereals"), "distillation": ("蒸馏", "distillation"), "bottling": ("灌装", "bottling"),
    "faecal_streptococci": ("粪链球菌", "faecal streptococci"),
    "clostridium_perfringens": ("产气荚膜梭菌", "Clostridium perfringens"),
    "sulphite_reducing_clostridia": ("亚硫酸盐还原厌氧菌", "sulphite-reducing clostridia"),
    "escherichia_coli": ("大肠埃希氏菌", "E. coli"), "total_coliforms": ("大肠菌群", "coliforms"),
})
VALUE_NAMES.update({  # lab verdicts and the kinds of certificate a record may carry
    "pass": ("合格", "pass"), "fail": ("不合格", "fail"), "info": ("仅供参考", "for information"),
    "warning": ("提醒", "warning"), "none": ("无判定", "no verdict"),
    "certificate_no": ("承诺达标合格证", "Commitment certificate"),
    "quarantine_certificate": ("动物检疫合格证明", "Quarantine certificate"),
    "quality_certificate": ("肉品品质检验合格证", "Meat quality certificate"),
    "organic": ("有机产品认证", "Organic"), "green_food": ("绿色食品", "Green food"),
    "geographic_indication": ("地理标志", "Geographical indication"),
    "selenium_report": ("富硒检测报告", "Selenium-rich test report"),
})
