"""The declarations' words for templates: every page names event types, KDEs, units, values and
rule messages through these, in the page's language (farmtrace.rules.declare holds the words)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from collections.abc import Callable, Mapping
from typing import Any

import re

from farmtrace.rules.declare import (COUNTIES, DECLARATIONS, EXTRA_KDES, VALUE_NAMES, Shown, Words, describe,
                                     number_text, pick, type_name, unit_name)

DATA_PATH = re.compile(r"\bdata\.([a-z_]+)(\[\d+\])?(?:\.([a-z_]+))?")


def _kde_words() -> dict[str, Words]:
    words: dict[str, Words] = {}
    for decl in DECLARATIONS.values():
        words.update({k.name: (k.zh, k.en) for k in decl.kdes})
    for by_family in EXTRA_KDES.values():
        for kdes in by_family.values():
            words.update({k.name: (k.zh, k.en) for k in kdes if k.name not in words})
    return words


def _org_names(orgs: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: (v if isinstance(v, str) else str(getattr(v, "name", k))) for k, v in (orgs or {}).items()}


def template_words(lang: str) -> dict[str, Callable[..., Any]]:
    """Functions every template may call, bound to `lang`."""

    def name_of_type(type_: str, data: Mapping[str, Any] | None = None) -> str:
        return type_name(type_, lang, data)

    def shown(type_: str, data: Mapping[str, Any], family: str | None = None,
              orgs: Mapping[str, Any] | None = None, skip: tuple[str, ...] = ()) -> list[Shown]:
        return describe(type_, data, lang, family=family, orgs=_org_names(orgs), skip=skip)

    def value_name(value: Any) -> str:
        words = VALUE_NAMES.get(value) or VALUE_NAMES.get(str(value).lower()) if value is not None else None
        return pick(words, lang) if words else ("" if value is None else str(value))

    def county_name(code: Any) -> str:
        words = COUNTIES.get(code) if isinstance(code, str) else None
        return pick(words, lang) if words else ("" if code is None else str(code))

    def amount(value: Any, unit: Any) -> str:
        """A quantity with its unit by name: "1200 千克"."""
        shown_unit = unit_name(unit, lang)
        return f"{number_text(value)} {shown_unit}".strip()

    def said(message: str | None, message_zh: str | None = None) -> str:
        """A rule's message in the page's language (the English when no Chinese was kept); a verdict
        with no words of its own ("info") is named."""
        if message in ("pass", "fail", "info", "warning"):
            return value_name(message)
        text = (message_zh or message or "") if lang != "en" else (message or "")
        return DATA_PATH.sub(field_words, text)  # "data.abv" -> "酒精度" / "Alcohol": pages show labels, not paths

    kde_words = _kde_words()

    def field_words(match: re.Match[str]) -> str:
        name = match.group(3) or match.group(1)
        words = kde_words.get(name)
        return pick(words, lang) if words else name.replace("_", " ")

    return {"type_name": name_of_type, "describe": shown, "value_name": value_name, "county_name": county_name,
            "unit_name": lambda code: unit_name(code, lang), "amount": amount, "said": said}


SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991


def local_time(moment: datetime | None, seconds: bool = False) -> str:
    """A stored moment (naive means UTC, as the database keeps them) as Bazhong reads it: Asia/Shanghai."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
