"""Forms generated from the declarations (farmtrace.rules.declare): one field per key data element,
labelled in the page's language, units shown, pickers for choices, counties and orgs. The form
checks nothing of its own: the core validates, and its error is put beside the field it names.

The carbon activity data (`activity`, rules/carbon.py) is a few rows, each one picker naming kind,
qualifier and unit in words ("电力 · 四川电网（千瓦时）") and an amount; static/device.js builds the same
items from the same options (`activity_spec`), so an event signed on the tablet carries the same data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Optional

from farmtrace.ledger.errors import FarmtraceError
from farmtrace.rules.carbon import CHOICES, ITEM_KDES, KIND_WORDS, QUALIFIER, UNIT_WORDS, UNITS_OF, factor_table
from farmtrace.rules.declare import COUNTIES, Kde, pick, unit_name
from farmtrace.web.words import DATA_PATH

ENTERED_KINDS = ("text", "decimal", "count", "choice", "date", "time", "org", "county", "list", "bool")
UNIT_CODES = ("KGM", "TNE", "GRM", "LTR", "MLT", "head", "H87", "bottle", "XBX", "XBG", "mu", "ha", "CEL")
FIELD_PATH = re.compile(r"^data\.([a-z_]+)")
PREFIX = "k_"  # form fields are named k_<kde>: a KDE called `process` or `data` must not shadow the form's own
ACTIVITY_ROWS = 3  # enough for a farm day: electricity, diesel, transport
ACTIVITY_PATH = re.compile(r"^data\.activity(?:\[(\d+)\](?:\.([a-z_]+))?)?")
ACTIVITY_PREFIX = re.compile(r"^data\.activity(?:\[\d+\])?(?:\.[a-z_]+)?\s*[：:]\s*")


def field_name(kde: str) -> str:
    return PREFIX + kde


def is_activity(kde: Kde) -> bool:
    return kde.name == "activity" and kde.kind == "items"


def activity_field(row: int, part: str) -> str:
    """The form field of one activity row: part "what" (kind + qualifier + unit) or "amount"."""
    return f"{PREFIX}activity_{row}_{part}"


def _with_unit(what: str, unit: str, lang: str) -> str:
    """"氮肥（纯氮）" + "千克" -> "氮肥（纯氮，千克）"; "柴油" + "升" -> "柴油（升）"."""
    if lang == "en":
        return f"{what[:-1]}, {unit})" if what.endswith(")") else f"{what} ({unit})"
    return f"{what[:-1]}，{unit}）" if what.endswith("）") else f"{what}（{unit}）"


def activity_options(lang: str) -> list[tuple[str, dict[str, Any], str]]:
    """What an activity row may name: (value, the item without its amount, words), from the rules'
    kinds, qualifiers and units, only where the factor table in force has a factor for it."""
    table = factor_table()
    latest = table.versions[-1][0]
    cold = next(k for k in ITEM_KDES if k.name == "refrigerated").label(lang)
    out = []
    for kind, kind_words in KIND_WORDS.items():
        qualifier = QUALIFIER[kind]
        for key, words in CHOICES[qualifier].items():
            for chilled in ((False, True) if kind == "transport" else (None,)):
                factor_key = key + ("_refrigerated" if chilled else "")
                for unit in dict.fromkeys(UNITS_OF[kind].values()):
                    if (latest, kind, factor_key, unit) not in table.index:
                        continue
                    item: dict[str, Any] = {"kind": kind, "unit": unit, qualifier: key}
                    what = pick(words, lang)
                    if chilled is not None:
                        item["refrigerated"] = chilled
                        what += (f", {cold.lower()}" if lang == "en" else cold) if chilled else ""
                    label = f"{pick(kind_words, lang)} · {_with_unit(what, pick(UNIT_WORDS[unit], lang), lang)}"
                    out.append((f"{kind}:{factor_key}:{unit}", item, label))
    return out


def activity_spec(kde: Kde) -> dict[str, Any]:
    """For static/device.js: how many activity rows and the item each option stands for."""
    if not is_activity(kde):
        return {}
    return {"rows": ACTIVITY_ROWS, "options": {value: item for value, item, _ in activity_options("en")}}


def _activity_items(form: FlaskForm) -> tuple[list[dict[str, Any]], list[int]]:
    """The activity items of the filled rows (empty rows left out), and the row each came from."""
    options = {value: item for value, item, _ in activity_options("en")}
    items, rows = [], []
    for row in range(ACTIVITY_ROWS):
        what = str(form[activity_field(row, "what")].data or "").strip()
        amount = str(form[activity_field(row, "amount")].data or "").strip()
        if not what and not amount:
            continue
        items.append({**options.get(what, {}), **({"amount": amount} if amount else {})})
        rows.append(row)
    return items, rows


def _choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """A picker's options, an empty one first (nothing chosen)."""
    return [SelectChoice("", "—"), *(SelectChoice(value, label) for value, label in pairs)]


def _unit_choices(lang: str, current: Iterable[str] = ()) -> list[tuple[str, str]]:
    codes = [c for c in dict.fromkeys([*UNIT_CODES, *current]) if c]
    return [(code, f"{unit_name(code, lang)} ({code})" if unit_name(code, lang) != code else code) for code in codes]


def entered(kdes: Sequence[Kde], *, skip: Iterable[str] = ()) -> list[Kde]:
    """The KDEs a person types or picks (hashes, lists of inputs and hidden parts are filled by the app)."""
    skipped = set(skip)
    return [k for k in kdes if (k.kind in ENTERED_KINDS or is_activity(k)) and not k.hidden and k.name not in skipped]


def build_form(kdes: Sequence[Kde], lang: str, *, orgs: Sequence[tuple[str, str]] = (),
               formdata: Any = None, data: Mapping[str, Any] | None = None,
               example: Mapping[str, Any] | None = None) -> FlaskForm:
    """A Flask-WTF form (CSRF included) with one field per KDE, in declaration order; unit pickers
    start at the unit the declaration's example uses (e.g. head for pigs)."""

    class EventForm(FlaskForm):  # type: ignore[misc]
        pass

    units_used = {k.unit_kde for k in kdes if k.unit_kde}
    start = {name: (example or {}).get(name) for name in (*units_used, "unit") if (example or {}).get(name)}
    data = {field_name(k): v for k, v in {**start, **{k: v for k, v in (data or {}).items() if v}}.items()}
    for kde in kdes:
        label = kde.label(lang) + ("" if kde.required else (" (选填)" if lang != "en" else " (optional)"))
        shown_unit = unit_name(kde.unit, lang) if kde.unit else ""
        if shown_unit:
            label = f"{label} ({shown_unit})"
        kw: dict[str, Any] = {"label": label, "description": kde.help(lang), "validators": [Optional()],
                              "render_kw": {}}
        field: Field
        if is_activity(kde):
            _add_activity_rows(EventForm, lang)
            continue
        if kde.name in units_used or kde.name == "unit":
            field = SelectField(choices=_choices(_unit_choices(lang, [str(start.get(kde.name) or "")])),
                                validate_choice=False, **kw)
        elif kde.kind == "choice" or (kde.kind == "text" and kde.choices):
            field = SelectField(choices=_choices((v, pick(w, lang)) for v, w in kde.choices.items()),
                                validate_choice=False, **kw)
        elif kde.kind == "county":
            field = SelectField(choices=_choices((v, pick(w, lang)) for v, w in COUNTIES.items()),
                                validate_choice=False, **kw)
        elif kde.kind == "org":
            field = SelectField(choices=_choices(orgs), validate_choice=False, **kw)
        elif kde.kind == "bool":
            field = BooleanField(**kw)
        elif kde.kind == "list":
            kw["render_kw"]["rows"] = 3
            field = TextAreaField(**kw)
        else:
            if kde.kind in ("decimal", "count"):
                kw["render_kw"]["inputmode"] = "decimal" if kde.kind == "decimal" else "numeric"
            if kde.kind == "date":
                kw["render_kw"]["type"] = "date"
            if kde.kind == "text":
                kw["render_kw"]["maxlength"] = kde.max_len
            field = StringField(**kw)
        setattr(EventForm, field_name(kde.name), field)
    if formdata is None:  # Flask-WTF reads the request's form itself when one was posted
        form = EventForm(data=dict(data or {}))
    else:
        form = EventForm(formdata=formdata, data=dict(data or {}))
    form.activity_rows = [(form[activity_field(r, "what")], form[activity_field(r, "amount")])
                          for r in range(ACTIVITY_ROWS) if activity_field(r, "what") in form]
    form.activity_index = []  # the row of each item form_data made, for putting an error beside it
    activity = next((k for k in kdes if is_activity(k)), None)
    form.activity_words = (("碳排放活动数据（选填）" if lang != "en" else "Carbon activity data (optional)"),
                           activity.help(lang) if activity else "")
    return form


def _add_activity_rows(cls: type, lang: str) -> None:
    """The activity rows: a picker naming kind, qualifier and unit, and the amount."""
    choices = _choices((value, label) for value, _, label in activity_options(lang))
    amount = next(k for k in ITEM_KDES if k.name == "amount").label(lang)
    for row in range(ACTIVITY_ROWS):
        n = row + 1
        setattr(cls, activity_field(row, "what"), SelectField(
            label=f"第 {n} 项：类别与单位" if lang != "en" else f"Item {n}: kind and unit", choices=choices,
            validate_choice=False, validators=[Optional()]))
        setattr(cls, activity_field(row, "amount"), StringField(
            label=f"第 {n} 项：{amount}" if lang != "en" else f"Item {n}: {amount.lower()}", validators=[Optional()],
            render_kw={"inputmode": "decimal", "autocomplete": "off"}))


def form_data(form: FlaskForm, kdes: Sequence[Kde]) -> dict[str, Any]:
    """The event's `data` from a submitted form: empty optional fields left out, lists one per line."""
    out: dict[str, Any] = {}
    for kde in kdes:
        if is_activity(kde):
            activity, form.activity_index = _activity_items(form)
            if activity:
                out[kde.name] = activity
            continue
        value = form[field_name(kde.name)].data
        if kde.kind == "bool":
            out[kde.name] = bool(value)
            continue
        text = "" if value is None else str(value).strip()
        if kde.kind == "list":
            items = [line.strip() for line in text.splitlines() if line.strip()]
            if items or kde.required:
                out[kde.name] = items
            continue
        if text or kde.required:
            out[kde.name] = text if text else None
    return {k: v for k, v in out.items() if v is not None or k in {x.name for x in kdes if x.required}}


def friendly(err: FarmtraceError, kde: Kde | None, lang: str) -> str:
    """The core's refusal in the page's language, the field named by its label, never a `data.x` path."""
    if lang != "en" and err.message_zh:
        return err.message_zh
    if kde is not None and lang != "en":
        label = kde.label(lang)
        text = err.message
        if "is required" in text:
            return f"请填写{label}。"
        if kde.kind == "decimal":
            return f"{label}须为{'大于零的' if kde.positive else ''}数字，如 12.5。"
        if kde.kind == "count":
            return f"{label}须为整数，如 12。"
        if kde.kind in ("choice", "county", "org"):
            return f"请从列表中选择{label}。"
        if kde.kind == "date":
            return f"{label}须为日期，如 2026-07-02。"
        if kde.kind == "text" and "non-empty text" in text:
            return f"请填写{label}（不超过 {kde.max_len} 个字）。"
        return f"{label}填写有误：{DATA_PATH.sub(lambda m: kde.label(lang), text)}"

    def label_of(match: re.Match[str]) -> str:
        return kde.label(lang) if kde is not None and match.group(1) == kde.name else match.group(1).replace("_", " ")
    return DATA_PATH.sub(label_of, err.message)


ONE_OF = re.compile(r"(须为以下之一：|must be one of )(.+?)(，收到|, got)")


def _in_words(text: str, lang: str) -> str:
    """The rule's message with the values it lists named as the picker names them, and nothing as nothing."""
    names = {**KIND_WORDS, **{key: words for choice in CHOICES.values() for key, words in choice.items()}}
    text = ONE_OF.sub(lambda m: m[1] + ("、" if lang != "en" else ", ").join(
        pick(names[v], lang) if v in names else v for v in m[2].split(", ")) + m[3], text)
    return text.replace("收到 None", "未填写").replace("got None", "got nothing")


def show_error(form: FlaskForm, err: FarmtraceError, kdes: Sequence[Kde], lang: str) -> None:
    """Put the core's refusal beside the field it names, or above the form when it names none."""
    activity = ACTIVITY_PATH.match(err.field or "")
    rows = getattr(form, "activity_rows", [])
    if activity and rows:  # beside the row's picker, or its amount; the rule's words without the path
        index = getattr(form, "activity_index", [])
        item = int(activity.group(1) or 0)
        what, amount = rows[index[item] if item < len(index) else 0]
        field = amount if activity.group(2) == "amount" else what
        text = err.message_zh if lang != "en" and err.message_zh else err.message
        field.errors = [*field.errors, _in_words(ACTIVITY_PREFIX.sub("", text), lang)]
        return
    match = FIELD_PATH.match(err.field or "")
    name = match.group(1) if match else None
    kde = next((k for k in kdes if k.name == name), None)
    if kde is None or field_name(kde.name) not in form:
        form.form_errors.append(friendly(err, None, lang))
        return
    field = form[field_name(kde.name)]
    field.errors = [*field.errors, friendly(err, kde, lang)]
