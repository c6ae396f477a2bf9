"""Licence numbers a label or a record carries: the 食品生产许可证 (SC) number and its food category.

食品生产许可管理办法 (2020): a licence number is `SC` + 14 digits = 3-digit food category (first digit
1 = food, 2 = additive) + 2 province + 2 city + 2 county + 4 sequence + 1 check digit (domain.md §1.1 ✔).
The categories our families pack: 101 grain products (rice), 114 tea, 115 liquor (all ✔), 106 drinks
incl. packaged water (unverified: domain.md §1.1). The check digit's algorithm is not published in
what we found, so it is not checked.
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
    "water": ("106", "饮料", "unverified"),
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
