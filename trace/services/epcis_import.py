"""Import another system's GS1 EPCIS 2.0 document (JSON / JSON-LD) into batches' histories.

Rules (docs/exports.md, "EPCIS import"):
1. the document is parsed and validated against GS1's EPCIS 2.0 JSON schema before anything is
   written; a bad document is refused naming the place (`document`, or `epcisBody.eventList.3.eventTime`);
2. every event is recorded by the importing org, signed on receipt with its custodial key, all in one
   transaction (all of it or nothing); custody rules hold as for any append;
3. mapping: a lot first named by an event (a commissioning ObjectEvent ADD, or any event naming a lot
   we do not know) starts a batch (`create`); a TransformationEvent consumes its inputs (`consume`)
   and starts each output (`transform`, naming the consume events); every other event is an `observe`
   of the lot it names, with its bizStep, disposition and EPCIS type;
4. provenance: each recorded event carries `imported_from` = {document: SHA-256 of the bytes
   received, event_id: the event's eventID (its CBV 2.0 hash when it has none)}; a `consume` has no
   room for it and is named by its `transform`;
5. idempotent: each event's id is a UUID v5 of its eventID (and its part), so importing the same
   document (or the same event in another document) again records nothing new;
6. farmtrace's own exports carry `ft:batch`, `ft:data` and `ilmd`: batch ids, products, lots,
   families, quantities and units come back from them, so an exported lineage imports into an
   empty instance as the same batches, quantities and links.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

from farmtrace.ledger.errors import InvalidEventError, InvalidRequestError
from farmtrace.services.append import append_custodial
from farmtrace.services.exports.event_hash import cbv_event_id, prefixes
from farmtrace.services.ledger import Ledger
from farmtrace.services.transaction import Actor, AppendTx

MAX_BYTES = 16 * 1024 * 1024  # a document larger than this is refused before parsing
NAMESPACE = uuid.UUID("6f1c1d52-9a8e-5b7e-8d1e-2f0c6c1a9e14")  # farmtrace EPCIS imports (uuid5 ids)
FAMILIES = ("produce", "pork", "baijiu", "water")
UOM_UNITS = {"KGM", "GRM", "TNE", "LTR", "MLT", "MTR", "MTK", "HAR"}
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$")
REPLAYED = {"plot_registered", "input_applied", "fed", "immunised", "treated", "fermented", "quarantined",
            "inspected", "stored", "temperature_logged", "packed", "commissioned", "sample", "sell", "observe"}
REPLAYED_GENESIS = {"create", "harvested", "animal_tagged", "source_registered"}
_BATCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class ImportReport:
    """What an import recorded: the document's hash, its events, and how many of ours are new."""

    document: str
    events: int
    recorded: int
    batches: tuple[str, ...]


def import_epcis(ledger: Ledger, raw: bytes, *, org: str) -> ImportReport:
    """Validate an EPCIS 2.0 JSON document and record its events as `org`, all or nothing.

    Raises:
        InvalidRequestError: not JSON, too large, or not valid against GS1's schema (field names the place).
        InvalidEventError, CustodyError, NotFoundError, KeyStateError: an event cannot be recorded (nothing is).
    """
    doc = parse_document(raw)
    digest = hashlib.sha256(raw).hexdigest()
    events = doc["epcisBody"].get("eventList") or ([doc["epcisBody"]["event"]] if "event" in doc["epcisBody"] else [])
    namespaces = prefixes(doc.get("@context"))
    ids = [str(e.get("eventID") or cbv_event_id(e, namespaces)) for e in events]
    actor = Actor(org=org)

    def command(tx: AppendTx) -> ImportReport:
        run = _Import(tx, actor, digest)
        for event, event_id in zip(events, ids):
            run.event(event, event_id)
        return ImportReport(digest, len(events), run.recorded, tuple(run.touched))
    return ledger.appending(command)


def parse_document(raw: bytes) -> dict[str, Any]:
    """The document as JSON, checked against GS1's EPCIS 2.0 JSON schema (with `uri` and `date-time` formats)."""
    if len(raw) > MAX_BYTES:
        raise InvalidRequestError(f"the document is {len(raw)} bytes; at most {MAX_BYTES} are accepted",
                                  field="document")
    try:
        doc = json.loads(raw.decode("utf-8-sig"), parse_float=_decimal_text)
    except (UnicodeDecodeError, ValueError) as err:
        raise InvalidRequestError(f"the document is not UTF-8 JSON: {str(err)[:120]}", field="document") from err
    if not isinstance(doc, dict) or doc.get("type") != "EPCISDocument":
        raise InvalidRequestError("expected an EPCIS 2.0 JSON document (type EPCISDocument)", field="document")
    error = next(iter(sorted(_validator().iter_errors(_as_numbers(doc)), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "document"
        raise InvalidRequestError(f"not valid EPCIS 2.0 at {where}: {error.message[:200]}", field=where)
    return doc


class _Decimal(str):
    """A JSON number kept as the text it was written in (our quantities are decimal strings)."""


def _decimal_text(text: str) -> _Decimal:
    return _Decimal(text)


def _as_numbers(value: Any) -> Any:
    """The document as the schema sees it: numbers as numbers."""
    if isinstance(value, _Decimal):
        return float(value)
    if isinstance(value, list):
        return [_as_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_numbers(v) for k, v in value.items()}
    return value


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft7Validator, FormatChecker

    schema = json.loads(resources.files("farmtrace.services.exports").joinpath("data/epcis-json-schema.json")
                        .read_text(encoding="utf-8"))
    checker = FormatChecker(formats=())
    checker.checks("uri")(lambda v: not isinstance(v, str) or bool(_URI.match(v)))

    @checker.checks("date-time", raises=ValueError)  # type: ignore[untyped-decorator]
    def _date_time(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return bool(_DATE_TIME.match(value))
    return Draft7Validator(schema, format_checker=checker)


class _Import:
    def __init__(self, tx: AppendTx, actor: Actor, digest: str) -> None:
        self.tx, self.actor, self.digest = tx, actor, digest
        self.lots: dict[str, str] = {}  # EPC class or instance id -> batch id
        self.recorded = 0
        self.touched: list[str] = []

    def event(self, event: Mapping[str, Any], event_id: str) -> None:
        kind = str(event.get("type"))
        at = _at(event)
        source = {"document": self.digest, "event_id": event_id}
        found = event.get("ft:data")
        data: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        if kind == "TransformationEvent":
            self._transformation(event, event_id, at, source, data)
            return
        lots = _lots(event)
        batch = self._batch_of(event, lots)
        genesis = event.get("action") == "ADD" and kind == "ObjectEvent" and event.get("bizStep") in (
            "commissioning", "https://ref.gs1.org/cbv/BizStep-commissioning")
        if genesis and batch is not None and self.tx.stored_by_id(str(uuid.uuid5(NAMESPACE, event_id + "#create"))):
            return  # imported before: this event started the batch
        if batch is None or not self._exists(batch):
            batch = batch or _batch_id(lots[0] if lots else event_id)
            kind_, master = "create", _master(event, data, lots[0] if lots else batch, batch)
            if genesis and event.get("ft:eventType") in REPLAYED_GENESIS and data:
                kind_, master = str(event["ft:eventType"]), dict(data)  # our own export: the signed KDEs as they were
            self._append(event_id + "#create", kind_, batch, at, {**master, "imported_from": source})
            for lot in lots:
                self.lots.setdefault(lot, batch)
            if genesis:
                return
        original = event.get("ft:eventType")
        if original in REPLAYED and data and not (original == "packed" and data.get("gtin")):
            # our own export, a step that names no other event nor org: as it was, unless its rules need
            # what an import cannot bring (a lab's signed result, the packer's GS1 prefix): then an observation
            try:
                self._append(event_id, str(original), batch, at, {**data, "imported_from": source})
                return
            except InvalidEventError:
                pass
        self._append(event_id, "observe", batch, at, {
            "step": _bare(event.get("bizStep")) or "other", "epcis_type": kind,
            **({"disposition": _bare(event["disposition"])} if isinstance(event.get("disposition"), str) else {}),
            **({"original_type": event["ft:eventType"]} if isinstance(event.get("ft:eventType"), str) else {}),
            "imported_from": source})

    def _transformation(self, event: Mapping[str, Any], event_id: str, at: str, source: dict[str, str],
                        data: Mapping[str, Any]) -> None:
        outputs = [q for q in event.get("outputQuantityList", []) if isinstance(q, Mapping)]
        inputs = [q for q in event.get("inputQuantityList", []) if isinstance(q, Mapping)]
        out_ids = [self.lots.get(str(q.get("epcClass"))) or _batch_id(str(q.get("epcClass"))) for q in outputs]
        if len(outputs) == 1 and isinstance(event.get("ft:batch"), str) and _BATCH.match(event["ft:batch"]):
            out_ids = [event["ft:batch"]]
        links = []
        for i, q in enumerate(inputs):
            lot = str(q.get("epcClass"))
            batch = self.lots.get(lot) or _batch_id(lot)
            quantity, unit = _input_amount(q, data, batch)
            used = self._append(f"{event_id}#consume/{i}", "consume", batch, at,
                                {"quantity": quantity, "unit": unit, "into": out_ids})
            links.append({"batch": batch, "event": used, "quantity": quantity, "unit": unit})
        for i, (q, batch) in enumerate(zip(outputs, out_ids)):
            lot = str(q.get("epcClass"))
            master = _master(event, data if i == 0 else {}, lot, batch, quantity=q)
            process = str(data.get("process") or _bare(event.get("bizStep")) or "imported")[:64]
            generic = {**master, "inputs": links, "process": f"imported {process}"[:64], "imported_from": source}
            if i == 0 and event.get("ft:eventType") == "transform" and data:
                # our own export: its KDEs as they were, unless its rules need what an import cannot bring
                # (live weights on receipts, lab results signed by the lab): then the generic transformation
                try:
                    self._append(f"{event_id}#output/{i}", "transform", batch, at, {
                        **{k: v for k, v in data.items() if k != "inputs"}, "inputs": links, "imported_from": source})
                    self.lots[lot] = batch
                    continue
                except InvalidEventError:
                    pass
            self._append(f"{event_id}#output/{i}", "transform", batch, at, generic)
            self.lots[lot] = batch

    def _batch_of(self, event: Mapping[str, Any], lots: list[str]) -> str | None:
        named = event.get("ft:batch")
        if isinstance(named, str) and _BATCH.match(named):
            for lot in lots:
                self.lots.setdefault(lot, named)
            return named
        return next((self.lots[lot] for lot in lots if lot in self.lots), None)

    def _exists(self, batch: str) -> bool:
        return batch in self.touched or self.tx.uow.batch(batch) is not None

    def _append(self, part: str, kind: str, batch: str, at: str, data: dict[str, Any]) -> str:
        event_id = str(uuid.uuid5(NAMESPACE, part))
        before = self.tx.stored_by_id(event_id)
        if before is not None and before.body.org == self.actor.org:
            return before.hash  # imported before (perhaps as an observation): the eventID is the same event
        stored = append_custodial(self.tx, {"id": event_id, "type": kind, "batch": batch,
                                            "at": at, "data": data}, actor=self.actor)
        self.recorded += int(stored.created)
        if batch not in self.touched:
            self.touched.append(batch)
        return stored.hash


def _at(event: Mapping[str, Any]) -> str:
    """eventTime in the ledger's form (seconds, the event's own offset)."""
    moment = datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00"))
    return moment.replace(microsecond=0).isoformat()


def _lots(event: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for name in ("quantityList", "childQuantityList"):
        found += [str(q["epcClass"]) for q in event.get(name, []) if isinstance(q, Mapping) and "epcClass" in q]
    for name in ("epcList", "childEPCs"):
        found += [str(e) for e in event.get(name, []) if isinstance(e, str)]
    if isinstance(event.get("parentID"), str) and not found:
        found.append(event["parentID"])
    return found


def _batch_id(lot: str) -> str:
    """A batch id for a lot another system names (its EPC class or instance URI)."""
    return "epcis-" + hashlib.sha256(lot.encode()).hexdigest()[:24]


def _bare(value: Any) -> str:
    text = str(value or "")
    for sep in ("BizStep-", "Disp-", "bizstep:", "disp:"):
        if sep in text:
            return text.rsplit(sep, 1)[1][:64]
    return text[:64]


def _amount(q: Mapping[str, Any]) -> tuple[str | None, str]:
    if "quantity" not in q:
        return None, "units"
    return str(q["quantity"]), str(q.get("uom") or "units")


def _input_amount(q: Mapping[str, Any], data: Mapping[str, Any], batch: str) -> tuple[str, str]:
    for item in data.get("inputs", []) if isinstance(data.get("inputs"), list) else []:
        if isinstance(item, Mapping) and item.get("batch") == batch:
            return str(item.get("quantity")), str(item.get("unit"))
    quantity, unit = _amount(q)
    if quantity is None:
        raise InvalidRequestError(f"the input {q.get('epcClass')} has no quantity", field="inputQuantityList")
    return quantity, unit


def _master(event: Mapping[str, Any], data: Mapping[str, Any], lot_uri: str, batch: str, *,
            quantity: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """product, lot, family, quantity, unit (and place) of a new batch: from ft:data, ilmd, the quantity element."""
    given = event.get("ilmd")
    ilmd: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    element = quantity or next((q for q in event.get("quantityList", []) if isinstance(q, Mapping)), {})
    amount, unit = _amount(element)
    if isinstance(data.get("quantity"), str) and isinstance(data.get("unit"), str):
        amount, unit = data["quantity"], data["unit"]
    elif "epcList" in event and amount is None:
        amount, unit = str(len(event["epcList"])), "units"
    family = data.get("family") or ilmd.get("ft:family")
    master = {
        "product": str(data.get("product") or ilmd.get("ft:product") or _lot_text(lot_uri))[:200],
        "lot": str(data.get("lot") or ilmd.get("ft:lot") or _lot_text(lot_uri))[:64],
        "family": family if family in FAMILIES else "produce",
        "quantity": amount or "1", "unit": unit,
    }
    place = data.get("place") or ilmd.get("ft:place")
    if isinstance(place, str):
        master["place"] = place
    return master


def _lot_text(uri: str) -> str:
    """The lot of a GS1 Digital Link (…/10/{lot}), else the URI's last path segment."""
    path = urlsplit(uri).path.split("/")
    if "10" in path[:-1]:
        return unquote(path[path.index("10") + 1])
    return unquote(path[-1] or uri)
