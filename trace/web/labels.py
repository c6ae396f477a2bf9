"""Names of steps and data fields as people read them, in Chinese first and English second."""

from __future__ import annotations

STEPS: dict[str, tuple[str, str]] = {
    "create": ("批次建立", "Batch created"),
    "observe": ("记录", "Recorded"),
    "correct": ("更正", "Correction"),
    "planted": ("播种", "Planted"),
    "input_applied": ("投入品使用", "Input applied"),
    "harvested": ("采收", "Harvested"),
    "processed": ("加工", "Processed"),
    "lab_result": ("检测结果", "Lab result"),
    "animal_tagged": ("佩戴耳标", "Ear-tagged"),
    "immunised": ("免疫", "Immunised"),
    "quarantined": ("产地检疫", "Quarantined"),
    "fermented": ("窖池发酵", "Fermented"),
    "blended": ("勾调", "Blended"),
    "bottled": ("灌装", "Bottled"),
    "production_run": ("生产批次", "Production run"),
    "stored": ("贮存", "Stored"),
    "temperature_logged": ("温度记录", "Temperature logged"),
    "inspected": ("检验", "Inspected"),
    "ship": ("发货", "Shipped"),
    "receive": ("收货", "Received"),
    "cancel": ("取消发货", "Shipment cancelled"),
    "transform": ("加工", "Processed from inputs"),
    "consume": ("投入加工", "Used in processing"),
    "sample": ("抽样", "Sampled"),
    "test": ("检测", "Lab test"),
    "sell": ("销售", "Sold"),
    "recall": ("召回", "Recalled"),
    "plot_registered": ("地块登记", "Plot registered"),
    "source_registered": ("水源登记", "Water source registered"),
    "fed": ("饲喂", "Fed"),
    "treated": ("兽药治疗", "Treated"),
    "commissioned": ("赋码", "Serialised"),
    "packed": ("包装", "Packed"),
    "certified": ("认证", "Certified"),
    "key_added": ("密钥登记", "Key added"),
}

FIELDS: dict[str, tuple[str, str]] = {
    "Se": ("硒", "Selenium"), "Cd": ("镉", "Cadmium"), "Pb": ("铅", "Lead"), "Hg": ("汞", "Mercury"),
    "As": ("砷", "Arsenic"), "quarantine_certificate": ("检疫证明", "Quarantine certificate"),
    "quality_certificate": ("肉品品质检验合格证", "Meat quality certificate"),
    "organic": ("有机产品认证", "Organic"), "green_food": ("绿色食品", "Green food"),
    "geographic_indication": ("地理标志", "Geographical indication"), "selenium_report": ("富硒检测报告", "Selenium-rich test report"),
    "product": ("产品", "Product"), "lot": ("批号", "Lot"), "family": ("品类", "Family"),
    "quantity": ("数量", "Quantity"), "unit": ("单位", "Unit"), "crop": ("作物", "Crop"),
    "plot": ("地块", "Plot"), "area": ("面积", "Area"), "area_unit": ("面积单位", "Area unit"),
    "product_name": ("投入品", "Input"), "dose": ("用量", "Dose"), "dose_unit": ("用量单位", "Dose unit"),
    "weight": ("重量", "Weight"), "moisture": ("水分 %", "Moisture %"), "analyte": ("检测项目", "Analyte"),
    "value": ("结果", "Result"), "method": ("检测方法", "Method"), "limit": ("限量", "Limit"),
    "standard": ("标准", "Standard"), "leaf": ("鲜叶等级", "Leaf grade"), "stages": ("工序", "Stages"),
    "tags": ("耳标号", "Ear tags"), "vaccine": ("疫苗", "Vaccine"), "certificate": ("证明编号", "Certificate"),
    "head": ("头数", "Head"), "pit": ("窖池", "Pit"), "pit_age": ("窖龄 (年)", "Pit age (years)"),
    "round": ("轮次", "Round"), "volume": ("体积", "Volume"), "abv": ("酒精度 %vol", "Alcohol %vol"),
    "bottles": ("瓶数", "Bottles"), "size_ml": ("规格 mL", "Size mL"), "line": ("生产线", "Line"),
    "amends": ("更正的记录", "Amends"), "reason": ("原因", "Reason"),
    "to": ("收货方", "To"), "doc": ("单据号", "Document"), "ship": ("发货记录", "Shipment"),
    "process": ("工艺", "Process"), "sample": ("样品记录", "Sample"), "lab": ("检测机构", "Lab"),
    "sample_id": ("样品编号", "Sample id"), "report_no": ("报告编号", "Report no."), "lod": ("检出限", "LOD"),
    "category": ("食品类别", "Food category"), "claims": ("标签声明", "Label claims"), "gtin": ("商品条码", "GTIN"),
    "units": ("件数", "Units"), "net_content": ("净含量", "Net content"), "certificate_no": ("合格证编号", "Certificate no."),
    "live_weight": ("活重 kg", "Live weight kg"), "variety": ("品种", "Variety"), "breed": ("品种", "Breed"),
}


def step_label(name: str, lang: str) -> str:
    pair = STEPS.get(name)
    return name if pair is None else (pair[1] if lang == "en" else pair[0])


def field_label(name: str, lang: str) -> str:
    pair = FIELDS.get(name)
    return name if pair is None else (pair[1] if lang == "en" else pair[0])
