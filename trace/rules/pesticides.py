"""Banned and restricted pesticides (禁限用农药), versioned: which active ingredient may not be used,
on which crops, from when, and on whose word.

Each row: active ingredient (Chinese common name, with English), the crops it is banned on ("*" =
every crop), the date the ban applies to use, the source, and a status in domain.md's sense.
A rule picks the rows in force on the application's date (`banned_on`).

Sources and status:
- 农业部公告第199号 (2002): 18 pesticides banned outright (六六六 … 毒鼠硅), 19 highly toxic
  organophosphates/carbamates not to be used on vegetables, fruit trees, tea or Chinese herbal
  crops, and 三氯杀螨醇 and 氰戊菊酯 not on tea. The names and scopes were read from a 2017 review
  citing the notice (世界热带农业信息 2017 第8期): "secondary" — confirmed against a review, not the
  notice's own text.
- 农业部公告第274号 / 第322号 (2003–2007) and later notices moved 甲胺磷, 对硫磷, 甲基对硫磷, 久效磷,
  磷胺 to a full ban from 2007-01-01; 农业农村部 "禁限用农药名录" (2019) lists 46 banned pesticides,
  adding 苯线磷, 地虫硫磷, 甲基硫环磷, 磷化钙/镁/锌, 硫线磷, 蝇毒磷, 治螟磷, 特丁硫磷 (2013-10-31),
  氯磺隆, 胺苯磺隆, 甲磺隆, 福美胂, 福美甲胂, 三氯杀螨醇 (2018-10-01), 林丹, 硫丹 (2019-03-26), 溴甲烷,
  氟虫胺 (2020-01-01), 杀扑磷, 百草枯 (2016-07-01), 2,4-滴丁酯 (2023-01-29): the list is from
  memory of the 2019 名录; the dates are unverified.
- 农业农村部公告第736号 (2023): 甲拌磷, 甲基异柳磷, 水胺硫磷, 灭线磷 banned from 2024-09-01;
  氧乐果, 克百威, 灭多威, 涕灭威 banned from 2026-06-01 (read from a 2024 news report quoting the
  notice: "secondary").
- Tea (茶树) bans beyond the 2002 list (2019 名录: 乙酰甲胺磷, 乐果, 丁硫克百威 not on vegetables,
  fruit, tea, herbs; 氟虫腈 not on any food crop but seed dressing): unverified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Ban:
    """One banned or restricted active ingredient."""

    name: str                 # Chinese common name, as a registration certificate writes it
    en: str
    crops: frozenset[str]     # categories it is banned on ("*" = all); produce categories + "herbs"
    valid_from: date          # use is banned from this date
    source: str               # with its number and year
    status: str               # "confirmed" | "secondary" | "unverified"
    aliases: tuple[str, ...] = ()

    def words(self) -> tuple[str, ...]:
        return (self.name.lower(), self.en.lower(), *(a.lower() for a in self.aliases))


ALL = frozenset({"*"})
FOOD_CROPS = frozenset({"vegetables", "fruit", "tea", "tea_leaves", "herbs"})  # 蔬菜、果树、茶叶、中草药材
TEA = frozenset({"tea", "tea_leaves"})
N199 = "农业部公告第199号 (2002)"
LIST_2019 = "农业农村部 禁限用农药名录 (2019)"
N736 = "农业农村部公告第736号 (2023)"


def _rows(names: Iterable[tuple[str, str]], crops: frozenset[str], on: date, source: str,
          status: str) -> tuple[Ban, ...]:
    return tuple(Ban(zh, en, crops, on, source, status) for zh, en in names)


BANS: tuple[Ban, ...] = (
    *_rows((("六六六", "HCH"), ("滴滴涕", "DDT"), ("毒杀芬", "camphechlor"), ("二溴氯丙烷", "dibromochloropropane"),
            ("杀虫脒", "chlordimeform"), ("二溴乙烷", "EDB"), ("除草醚", "nitrofen"), ("艾氏剂", "aldrin"),
            ("狄氏剂", "dieldrin"), ("汞制剂", "mercury compounds"), ("敌枯双", "bis(ADTA)"),
            ("氟乙酰胺", "fluoroacetamide"), ("甘氟", "gliftor"), ("毒鼠强", "tetramine"),
            ("氟乙酸钠", "sodium fluoroacetate"), ("毒鼠硅", "silatrane")), ALL, date(2002, 6, 5), N199, "secondary"),
    *_rows((("甲拌磷", "phorate"), ("甲基异柳磷", "isofenphos-methyl"), ("特丁硫磷", "terbufos"),
            ("甲基硫环磷", "phosfolan-methyl"), ("治螟磷", "sulfotep"), ("内吸磷", "demeton"), ("克百威", "carbofuran"),
            ("涕灭威", "aldicarb"), ("灭线磷", "ethoprophos"), ("硫环磷", "phosfolan"), ("蝇毒磷", "coumaphos"),
            ("地虫硫磷", "fonofos"), ("氯唑磷", "isazofos"), ("苯线磷", "fenamiphos")),
           FOOD_CROPS, date(2002, 6, 5), N199, "secondary"),
    *_rows((("三氯杀螨醇", "dicofol"), ("氰戊菊酯", "fenvalerate")), TEA, date(2002, 6, 5), N199, "secondary"),
    *_rows((("甲胺磷", "methamidophos"), ("对硫磷", "parathion"), ("甲基对硫磷", "parathion-methyl"),
            ("久效磷", "monocrotophos"), ("磷胺", "phosphamidon")), ALL, date(2007, 1, 1), LIST_2019, "unverified"),
    *_rows((("苯线磷", "fenamiphos"), ("地虫硫磷", "fonofos"), ("甲基硫环磷", "phosfolan-methyl"),
            ("磷化钙", "calcium phosphide"), ("磷化镁", "magnesium phosphide"), ("磷化锌", "zinc phosphide"),
            ("硫线磷", "cadusafos"), ("蝇毒磷", "coumaphos"), ("治螟磷", "sulfotep"), ("特丁硫磷", "terbufos")),
           ALL, date(2013, 10, 31), LIST_2019, "unverified"),
    *_rows((("百草枯", "paraquat"), ("杀扑磷", "methidathion")), ALL, date(2016, 7, 1), LIST_2019, "unverified"),
    *_rows((("氯磺隆", "chlorsulfuron"), ("胺苯磺隆", "ethametsulfuron"), ("甲磺隆", "metsulfuron-methyl"),
            ("福美胂", "asomate"), ("福美甲胂", "urbacide"), ("三氯杀螨醇", "dicofol")),
           ALL, date(2018, 10, 1), LIST_2019, "unverified"),
    *_rows((("林丹", "lindane"), ("硫丹", "endosulfan")), ALL, date(2019, 3, 26), LIST_2019, "unverified"),
    *_rows((("溴甲烷", "methyl bromide"), ("氟虫胺", "sulfluramid")), ALL, date(2020, 1, 1), LIST_2019, "unverified"),
    *_rows((("2,4-滴丁酯", "2,4-D butyl ester"),), ALL, date(2023, 1, 29), LIST_2019, "unverified"),
    *_rows((("乙酰甲胺磷", "acephate"), ("乐果", "dimethoate"), ("丁硫克百威", "carbosulfan")),
           FOOD_CROPS, date(2019, 8, 1), LIST_2019, "unverified"),
    *_rows((("氟虫腈", "fipronil"),), TEA, date(2009, 10, 1), LIST_2019, "unverified"),
    *_rows((("甲拌磷", "phorate"), ("甲基异柳磷", "isofenphos-methyl"), ("水胺硫磷", "isocarbophos"),
            ("灭线磷", "ethoprophos")), ALL, date(2024, 9, 1), N736, "secondary"),
    *_rows((("氧乐果", "omethoate"), ("克百威", "carbofuran"), ("灭多威", "methomyl"), ("涕灭威", "aldicarb")),
           ALL, date(2026, 6, 1), N736, "secondary"),
)
VERSION = "2026-01 (BANS as listed above)"


def _mentions(text: str, ban: Ban) -> bool:
    """Whether `text` names `ban`'s ingredient (乐果 is not 氧乐果; 克百威 is not 丁硫克百威)."""
    low = text.lower()
    for word in ban.words():
        start = low.find(word)
        while start >= 0:
            before = low[start - 1] if start > 0 else ""
            if not (before and ("\u4e00" <= before <= "\u9fff" or before.isalpha())):
                return True
            start = low.find(word, start + 1)
    return False


def banned_on(ingredient: str, crop: str | None, on: date) -> Ban | None:
    """The ban that forbids using `ingredient` on `crop` (a produce category; None: unknown) on `on`, if any.

    A ban limited to some crops applies when the crop is one of them; with the crop unknown it does
    not apply (the rule warns instead of refusing where it cannot tell)."""
    for ban in BANS:
        if ban.valid_from > on or not _mentions(ingredient, ban):
            continue
        if "*" in ban.crops or (crop is not None and crop in ban.crops):
            return ban
    return None


def ingredient_names(text: str) -> set[str]:
    """The listed ingredients (by Chinese name) a text names; others are returned as written."""
    return {ban.name for ban in BANS if _mentions(text, ban)}
