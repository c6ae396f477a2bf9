"""Licence numbers a label or a record carries: the 食品生产许可证 (SC) number and its food category.

食品生产许可管理办法 (2020; 第二十九条 as in the 2015 办法, 总局令第16号): a licence number is `SC` + 14 digits =
3-digit food category code (first digit 1 = food, 2 = additive; the next two the category's number in
《食品生产许可分类目录》) + 2 province + 2 city + 2 county + 4 sequence + 1 check digit (domain.md §1.1 ✔;
the digit layout confirmed again 2026-12-01 from several secondary reprints of 第二十九条).
The categories our families pack (SC_CATEGORIES): 101 粮食加工品 (rice), 114 茶叶及相关制品 (tea), 115 酒类
(baijiu; 《分类目录》 1501 白酒) — all ✔ in domain.md §1.1 — and 106 饮料 (packaged water, 《分类目录》 0601
瓶(桶)装饮用水: 饮用天然矿泉水, 包装饮用水): ✔ from secondary reprints of the 2016 《食品生产许可分类目录》 (no
official text was at hand; the lead may prefer to keep domain.md's "unverified" until someone reads it).
The check digit's algorithm is not published in what we found, so it is not checked.

Rules that use this module: produce.sc_licence (rice, tea), baijiu.sc_licence (label.sc, category 115),
water.sc_licence (category 106): the number's form, its category digits, and (when the packer has an SC
licence on record) that the label names that licence.
"""

from __future__ import annotations

import re
from typing import Any

from farmtrace.ledger.errors import Said

SC_LICENCE = re.compile(r"^SC(\d{3})(\d{2})(\d{2})(\d{2})\d{5}$")
LICENCE_RULE = "食品生产许可管理办法 (2020)"
SC_CATEGORIES: dict[str, tuple[str, str, str]] = {  # what is packed -> (category, Chinese, status)
    "rice": ("101", "粮食加工品", "confirmed"),
    "tea": ("114", "茶叶及相关制品", "confirmed"),
    "baijiu": ("115", "酒类", "confirmed"),
    "water": ("106", "饮料", "confirmed"),  # secondary sources only: see the module docstring
}


def sc_problem(number: Any, product: str) -> Said | None:
    """Why `number` is not an SC licence for `product` (a key of SC_CATEGORIES), or None when it is."""
    match = SC_LICENCE.match(number) if isinstance(number, str) else None
    if match is None:
        return Said(f"{LICENCE_RULE}: a 食品生产许可证 number is SC + 14 digits, got {number!r}",
                    f"{LICENCE_RULE}：食品生产许可证编号为 SC 加 14 位数字，实际为“{number}”")
    category, name_zh, _ = SC_CATEGORIES[product]
    if match.group(1) != category:
        return Said(f"{LICENCE_RULE}: licence {number} is for food category {match.group(1)}, not {category} "
                    f"({product})",
                    f"{LICENCE_RULE}：许可证 {number} 的食品类别为 {match.group(1)}，不是 {category}（{name_zh}）")
    return None


def sc_not_on_record(number: Any, licensed: str | None) -> Said | None:
    """Why a label's SC `number` is not the packer's licence on record (`licensed`), or None (none on record: not judged)."""
    if licensed is None or not isinstance(number, str) or licensed == number:
        return None
    return Said(f"{LICENCE_RULE}: the label names {number}, but the packer's licence on record is {licensed}",
                f"{LICENCE_RULE}：标签标注的许可证为 {number}，而包装企业登记的许可证为 {licensed}")
