"""Forms generated from the declarations (farmtrace.rules.declare): one field per key data element,
labelled in the page's language, units shown, pickers for choices, counties and orgs. The form
checks nothing of its own: the core validates, and its error is put beside the field it names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Optional

from farmtrace.ledger.errors import FarmtraceError
from farmtrace.rules.declare import COUNTIES, Kde, pick, unit_name
from farmtrace.web.words import DATA_PATH

ENTERED_KINDS = ("text", "decimal", "count", "choice", "date", "time", "org", "county", "list", "bool")
UNIT_CODES = ("KGM", "TNE", "GRM", "LTR", "MLT", "head", "H87", "bottle", "XBX", "XBG", "mu", "ha", "CEL")
FIELD_PATH = re.compile(r"^data\.([a-z_]+)")
PREFIX = "k_"  # form fields are named k_<kde>: a KDE called `process` or `data` must not shadow the form's own


def field_name(kde: str) -> str:
    return PREFIX + kde


def _choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """A picker's options, an empty one first (nothing chosen)."""
    return [SelectChoice("", "—"), *(SelectChoice(value, label) for value, label in pairs)]


def _unit_choices(lang: str, current: Iterable[str] = ()) -> list[tuple[str, str]]:
    codes = [c for c in dict.fromkeys([*UNIT_CODES, *current]) if c]
    return [(code, f"{unit_name(code, lang)} ({code})" if unit_name(code, lang) != code else code) for code in codes]


def entered(kdes: Sequence[Kde], *, skip: Iterable[str] = ()) -> list[Kde]:
    """The KDEs a person types or picks (hashes, lists of inputs and hidden parts are filled by the app)."""
    skipped = set(skip)
    return [k for k in kdes if k.kind in ENTERED_KINDS and not k.hidden and k.name not in skipped]


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
        return EventForm(data=dict(data or {}))
    return EventForm(formdata=formdata, data=dict(data or {}))


def form_data(form: FlaskForm, kdes: Sequence[Kde]) -> dict[str, Any]:
    """The event's `data` from a submitted form: empty optional fields left out, lists one per line."""
    out: dict[str, Any] = {}
    for kde in kdes:
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


def show_error(form: FlaskForm, err: FarmtraceError, kdes: Sequence[Kde], lang: str) -> None:
    """Put the core's refusal beside the field it names, or above the form when it names none."""
    match = FIELD_PATH.match(err.field or "")
    name = match.group(1) if match else None
    kde = next((k for k in kdes if k.name == name), None)
    if kde is None or field_name(kde.name) not in form:
        form.form_errors.append(friendly(err, None, lang))
        return
    field = form[field_name(kde.name)]
    field.errors = [*field.errors, friendly(err, kde, lang)]
