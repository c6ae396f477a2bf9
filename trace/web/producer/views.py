"""The producer app's pages: home, a new lot, a lot with the steps to record, receiving, transforming.

Each form comes from the event type's declaration; a submitted form becomes one custodial append
(signed with the org's key), and a refusal is shown beside the field it names, with nothing written
(the append is one transaction)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from farmtrace.ledger.errors import FarmtraceError, InvalidEventError, NotFoundError
from farmtrace.rules.certified import CERTIFIED_KDES, REQUIRED
from farmtrace.rules.certified import NAMES as CERTIFIED_NAMES
from farmtrace.rules.declare import DECLARATIONS, Kde, kdes_of
from farmtrace.rules.steps import FAMILIES
from farmtrace.services import lineage, producer
from farmtrace.services.certificate import certificate_draft
from farmtrace.web.producer.blueprint import actor, bp, ledger
from farmtrace.web.errors import status_of
from farmtrace.web.producer.forms import (activity_spec, build_form, entered, field_name, form_data, friendly,
                                          show_error)


def _lang() -> str:
    return "en" if str(get_locale() or "zh").startswith("en") else "zh_CN"


def _signing(type_: str, kdes: list[Kde], *, batch: str | None, lot: str = "", prev: str | None = None,
             fixed: dict[str, Any] | None = None) -> dict[str, Any]:
    """What static/device.js needs to build, sign and queue this form's event on the tablet: the
    same `data` as `form_data` (fields by kind), the fixed parts, and the chain head it links to.
    `batch` None: a new lot, its id made on the tablet from the lot code (as producer.new_batch_id)."""
    return {"type": type_, "name": DECLARATIONS[type_].name(_lang()), "batch": batch, "lot": lot, "prev": prev,
            "fixed": fixed or {},
            "fields": [{"name": field_name(k.name), "kde": k.name, "kind": k.kind, "required": k.required,
                        **activity_spec(k)} for k in kdes],
            "lot_url": url_for("producer.lot", batch_id="BATCH")}


def _held_by_me(batch_id: str) -> Any:
    row = producer.lot_of(ledger(), batch_id)
    if row is None:
        abort(404)
    if row.org_id != actor().org:
        abort(403)
    return row


@bp.get("/")
def home() -> Any:
    """The org's lots: recall notices first, then what is on its way to us, in stock, shipped."""
    q = request.args.get("q", "").strip()[:40] or None
    view = producer.org_home(ledger(), actor().org, q=q)
    return render_template("producer/home.html", home=view, q=q or "",
                           families=producer.families_of(ledger(), actor().org))


# ---- a new lot ----------------------------------------------------------------------------------

def _genesis_kdes(type_: str, family: str) -> list[Kde]:
    return entered(kdes_of(type_, family), skip=("family",))


@bp.route("/new", methods=["GET", "POST"])
def new_lot() -> Any:
    """Pick the family (if the org has several) and the first step; then its form."""
    families = producer.families_of(ledger(), actor().org)
    family = request.args.get("family") or (families[0] if len(families) == 1 else None)
    if family not in families:
        return render_template("producer/pick_family.html", families=[(f, FAMILIES[f]) for f in families])
    types = producer.genesis_types(family)
    type_ = request.args.get("type") or types[0].type
    if type_ not in {d.type for d in types}:
        abort(404)
    return _lot_form(family, type_, types)


def _lot_form(family: str, type_: str, types: list[Any]) -> Any:
    lang = _lang()
    kdes = _genesis_kdes(type_, family)
    form = build_form(kdes, lang, orgs=producer.orgs_to(ledger(), actor().org), example=DECLARATIONS[type_].example)
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        data = {**form_data(form, kdes), "family": family}
        batch_id = producer.new_batch_id(str(data.get("lot") or "lot"))
        try:
            ledger().append({"type": type_, "batch": batch_id, "data": data}, actor=actor())
            return redirect(url_for("producer.lot", batch_id=batch_id, made=1), 303)
        except FarmtraceError as err:
            show_error(form, err, kdes, lang)
            status = 422
    elif request.method == "POST":
        status = 400
    return render_template("producer/new_lot.html", form=form, kdes=kdes, family=family, type_=type_,
                           types=types, decl=DECLARATIONS[type_],
                           signing=_signing(type_, kdes, batch=None, fixed={"family": family})), status


# ---- a lot and its steps ------------------------------------------------------------------------

@bp.get("/batches/<batch_id>")
def lot(batch_id: str) -> Any:
    """One lot of ours: what it is, the steps we may record, and its labels."""
    row = producer.lot_of(ledger(), batch_id)
    if row is None:
        abort(404)
    me = actor().org
    if me not in (row.org_id, row.transit_to, row.origin_org):
        abort(403)
    steps = producer.step_types(row.family) if row.org_id == me and row.status == "held" else []
    return render_template("producer/lot.html", row=row, steps=steps, chain=producer.chain(ledger(), batch_id),
                           names=producer.org_names(ledger()), made=request.args.get("made"),
                           recorded=request.args.get("recorded"), view_functions=current_app.view_functions)


@bp.route("/batches/<batch_id>/record/<type_>", methods=["GET", "POST"])
def record(batch_id: str, type_: str) -> Any:
    """The form of one step on a lot we hold."""
    row = _held_by_me(batch_id)
    if type_ not in {d.type for d in producer.step_types(row.family)}:
        abort(404)
    lang = _lang()
    kdes = entered(kdes_of(type_, row.family), skip=CERTIFIED_NAMES if type_ == "observe" else ())  # certify() has them
    orgs = producer.labs(ledger()) if type_ == "sample" else producer.orgs_to(ledger(), actor().org)
    defaults: dict[str, Any] = {}
    if type_ in ("ship", "sell"):
        defaults = {"quantity": row.quantity, "unit": row.unit}
    elif type_ == "certificate_issued":
        defaults = certificate_draft(ledger(), batch_id)
    form = build_form(kdes, lang, orgs=orgs, formdata=request.form if request.method == "POST" else None,
                      data=defaults, example=DECLARATIONS[type_].example)
    chain = producer.chain(ledger(), batch_id)
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        data = form_data(form, kdes)
        if type_ == "correct":
            data["amends"] = request.form.get("amends", "")
        try:
            ledger().append({"type": type_, "batch": batch_id, "data": data}, actor=actor())
            return redirect(url_for("producer.lot", batch_id=batch_id, recorded=type_), 303)
        except FarmtraceError as err:
            show_error(form, err, kdes, lang)
            status = 422
    elif request.method == "POST":
        status = 400
    return render_template("producer/record.html", form=form, row=row, type_=type_, decl=DECLARATIONS[type_],
                           chain=chain, signing=_signing(type_, kdes, batch=row.id, lot=row.lot, prev=row.head)), status


# ---- a certificate, with its PDF ------------------------------------------------------------------

@bp.route("/batches/<batch_id>/certify", methods=["GET", "POST"])
def certify(batch_id: str) -> Any:
    """Record a certificate of a lot we hold (an `observe` of step "certified"), with its PDF if any.

    Not queued on the tablet: a file is uploaded, so this form needs a connection (the page says so).
    The PDF is checked and stored first; if the record is then refused, the file stored now is taken back."""
    row = _held_by_me(batch_id)
    lang = _lang()
    kdes = [replace(k, required=k.name in REQUIRED) for k in entered(CERTIFIED_KDES)]
    form = build_form(kdes, lang, formdata=request.form if request.method == "POST" else None)
    file_error: str | None = None
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        data = {"step": "certified", **form_data(form, kdes)}
        upload = request.files.get("document_file")
        store = ledger().documents
        saved = None
        try:
            if upload is not None and upload.filename:
                if store is None:
                    raise InvalidEventError(gettext("This server does not keep certificate files."), field="file")
                saved = store.save(upload.read(store.max_bytes + 1))
                data["document"] = saved.sha256
            ledger().append({"type": "observe", "batch": batch_id, "data": data}, actor=actor())
            return redirect(url_for("producer.lot", batch_id=batch_id, recorded="observe"), 303)
        except FarmtraceError as err:
            if saved is not None and store is not None:
                store.discard(saved)
            if err.field in ("file", "data.document"):
                file_error = friendly(err, None, lang)
            else:
                show_error(form, err, kdes, lang)
            status = status_of(err)
    elif request.method == "POST":
        status = 400
    max_mib = f"{(ledger().documents.max_bytes if ledger().documents else 0) / (1024 * 1024):g}"
    return render_template("producer/certify.html", form=form, row=row, file_error=file_error,
                           max_mib=max_mib), status


# ---- receiving ----------------------------------------------------------------------------------

@bp.route("/incoming/<batch_id>", methods=["GET", "POST"])
def receive(batch_id: str) -> Any:
    """Receive a lot shipped to us: the shipped quantity, less any loss on the way."""
    try:
        shipment = producer.incoming_shipment(ledger(), actor().org, batch_id)
    except NotFoundError:
        abort(404)
    lang = _lang()
    kdes = entered(kdes_of("receive", shipment.batch.family), skip=("unit",))
    form = build_form(kdes, lang, formdata=request.form if request.method == "POST" else None,
                      data={"quantity": shipment.quantity})
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        data = {**form_data(form, kdes), "ship": shipment.ship, "unit": shipment.unit}
        try:
            ledger().append({"type": "receive", "batch": batch_id, "data": data}, actor=actor())
            return redirect(url_for("producer.lot", batch_id=batch_id, recorded="receive"), 303)
        except FarmtraceError as err:
            show_error(form, err, kdes, lang)
            status = 422
    elif request.method == "POST":
        status = 400
    return render_template("producer/receive.html", form=form, shipment=shipment,
                           signing=_signing("receive", kdes, batch=batch_id, lot=shipment.batch.lot, prev=shipment.ship,
                                            fixed={"ship": shipment.ship, "unit": shipment.unit})), status


# ---- transforming -------------------------------------------------------------------------------

def _inputs_from(form: Any, stock: list[producer.Lot]) -> list[dict[str, Any]]:
    chosen = []
    for lot_ in stock:
        amount = str(form.get(f"take-{lot_.id}", "")).strip()
        if not amount:
            continue
        try:
            if Decimal(amount) <= 0:
                raise InvalidOperation
        except InvalidOperation:
            raise InvalidEventError(gettext("Quantity taken from %(lot)s must be a number above zero.",
                                            lot=lot_.lot), field=f"take-{lot_.id}") from None
        chosen.append({"batch": lot_.id, "quantity": amount})
    return chosen


@bp.route("/transform", methods=["GET", "POST"])
def transform() -> Any:
    """Make a new lot from lots in stock (slaughter, milling, blending, bottling ...)."""
    families = producer.families_of(ledger(), actor().org)
    family = request.args.get("family") or families[0]
    if family not in families:
        abort(404)
    lang = _lang()
    stock = producer.stock(ledger(), actor().org, family)
    # allocation and value (rules/carbon.py) split a consume among several outputs; this form makes one output
    # per consume, so they would change nothing here: the API takes them (docs/carbon.md)
    kdes = entered(kdes_of("transform", family), skip=("family", "allocation", "value"))
    form = build_form(kdes, lang, formdata=request.form if request.method == "POST" else None)
    taken_error: dict[str, str] = {}
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        data = form_data(form, kdes)
        process = str(data.pop("process", "") or "")
        try:
            inputs = _inputs_from(request.form, stock)
            if not inputs:
                raise InvalidEventError(gettext("Choose at least one lot from stock and how much of it is used."),
                                        field="inputs")
            output = {**data, "family": family, "batch": producer.new_batch_id(str(data.get("lot") or "lot"))}
            made = lineage.transform(ledger(), inputs, [output], actor=actor(), process=process)
            return redirect(url_for("producer.lot", batch_id=made[-1].body.batch, made=1), 303)
        except FarmtraceError as err:
            if (err.field or "").startswith("take-") or err.field == "inputs":
                taken_error[err.field or "inputs"] = friendly(err, None, lang)
            else:
                show_error(form, err, kdes, lang)
            status = 422
    elif request.method == "POST":
        status = 400
    signing = {**_signing("transform", kdes, batch=None, fixed={"family": family}),
               "stock": {lot_.id: {"head": lot_.head, "unit": lot_.unit} for lot_ in stock}}
    return render_template("producer/transform.html", form=form, stock=stock, family=family, families=families,
                           signing=signing,
                           taken=request.form if request.method == "POST" else {}, taken_error=taken_error), status
