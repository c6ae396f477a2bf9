"""GS1 EPCIS 2.0 JSON-LD documents of the ledger (domain.md §8; decisions and table in docs/exports.md).

Mapping (CBV 2.0 has no `transforming` and no `recalling` business step):
1. a batch's first event (create, harvested, animal_tagged, source_registered) -> ObjectEvent ADD
   `commissioning` / `active` with the lot's quantity and master data in `ilmd`; `commissioned`
   bottle serials -> ObjectEvent ADD with instance-level `epcList`;
2. `transform` -> TransformationEvent (`commissioning`, `killing` for slaughter) with
   inputQuantityList / outputQuantityList; outputs made from the same consume events are one event,
   and the `consume` events themselves appear only there (`ft:consumeEvents`);
3. `ship` / `receive` -> ObjectEvent OBSERVE `shipping` / `in_transit` and `receiving` /
   `in_progress` with sourceList / destinationList (owning parties) and the delivery note;
4. `packed` -> AggregationEvent ADD `packing` with a parent made from the packing event;
5. `certificate_issued` (承诺达标合格证) -> ObjectEvent OBSERVE `other` over the lot with the quantity issued;
   the certificate as `certificationInfo` and a `cert` business transaction ({base}/id/doc/{org}/{number}),
   and its number, product, quantity, unit, place of production in words, issuer and basis in
   `ft:certificate` (EPCIS forbids `ilmd` on OBSERVE; CBV 2.0 has no certifying business step);
5a. `test`, `quarantined`, `inspected` -> `inspecting`, `conformant` / `non_conformant` from the
   verdict farmtrace computed (never a typed-in one); `temperature_logged` -> `sensor_reporting`
   with a `sensorElementList` (gs1:Temperature, CEL); `recall` -> `holding` / `recalled` (also
   set as persistent disposition) over every batch the recall flagged;
6. every event keeps the ledger's facts under the `ft:` prefix declared in @context: our type,
   batch, org, log position, and the event's signed `data` as a JSON literal.

Identifiers: a lot with a GTIN (from its `packed` event) is the canonical GS1 Digital Link
`https://id.gs1.org/01/{gtin}/10/{lot}`, a bottle `.../01/{gtin}/21/{serial}`; otherwise the lot
is its public page `{base}/batches/{id}`. Orgs (read point, business location, parties) are
`{base}/id/org/{org}`; documents `{base}/id/doc/{org}/{number}`. The `eventID` is CBV 2.0's event
hash ID of the mapped event (`ni:///sha-256;…?ver=CBV2.0`, exports/event_hash.py), so other EPCIS
repositories can de-duplicate what we send; our own event hash (SHA-256 of the signed canonical
body) stays in `ft:eventHash`, with `ft:event` linking to it in the API. References between our
events (`ft:consumeEvents`, `ft:outputEvents`, `ft:amends`) name our hashes (`?ver=farmtrace-event-v1`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from farmtrace.storage.models import Event

from farmtrace.ledger.errors import InvalidRequestError
from farmtrace.ledger.events import event_type
from farmtrace.rules.declare import COUNTIES
from farmtrace.services.ledger import Ledger
from farmtrace.services.exports._select import Facts, body, lineage_events, window_events
from farmtrace.services.exports.event_hash import cbv_event_id
from farmtrace.services.footprint import Footprint, footprint

GS1_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
GS1_ID = "https://id.gs1.org"
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
EVENT_ID = "ni:///sha-256;{hash}?ver=farmtrace-event-v1"
MEDIA_TYPE = "application/ld+json"
UOM = {"KGM": "KGM", "kg": "KGM", "GRM": "GRM", "g": "GRM", "TNE": "TNE", "t": "TNE", "LTR": "LTR", "L": "LTR",
       "MLT": "MLT", "mL": "MLT", "MTR": "MTR", "m": "MTR", "MTK": "MTK", "HAR": "HAR", "ha": "HAR"}
COUNT_UNITS = {"head", "bottle", "case", "unit", "units", "bag", "pack", "piece", "pcs", "carton"}
RECORDS = {"plot_registered", "input_applied", "fed", "immunised", "treated", "fermented"}  # farmtrace-only steps
OBSERVE_STEPS = {  # event type -> (bizStep, disposition); None: unchanged
    "sample": ("sampling", None), "stored": ("storing", None), "temperature_logged": ("sensor_reporting", None),
    "sell": ("retail_selling", "retail_sold"), "cancel": ("void_shipping", None), "destroyed": ("destroying", "destroyed"),
    "observe": ("other", None), "correct": ("other", None),
}
INSPECTIONS = {"test", "quarantined", "inspected"}
SKIPPED = {"consume"}  # shown inside the TransformationEvent they feed
VERDICT = {"pass": "conformant", "fail": "non_conformant"}


def epcis_document(ledger: Ledger, *, batch: str | None = None, start: datetime | None = None,
                   end: datetime | None = None, product: str | None = None, base_url: str = DEFAULT_BASE_URL,
                   now: datetime | None = None) -> dict[str, Any]:
    """An EPCISDocument of a batch's lineage (`batch`), or of the events in [start, end) (of `product`).

    Events come in log order; a document made twice from the same ledger differs only in creationDate.

    Raises:
        NotFoundError: `batch` names no batch.
        InvalidRequestError: neither a batch nor a whole window was given.
    """
    if batch is None and (start is None or end is None):
        raise InvalidRequestError("give a batch, or both from and to", field="batch")
    with ledger.uow() as uow:
        facts = Facts(uow)
        if batch is not None:
            events = [e for e in lineage_events(uow, batch) if e.batch_id]
        else:
            assert start is not None and end is not None
            events = window_events(uow, start, end)
        facts.load(e.batch_id for e in events if e.batch_id)
        if batch is None and product:
            events = [e for e in events if facts.product_matches(str(e.batch_id), product)]
        mapper = _Mapper(facts, base_url.rstrip("/"))
        event_list = mapper.map(events)
        lot_id = mapper.lot(batch) if batch is not None else None
    created = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    document: dict[str, Any] = {
        "@context": [GS1_CONTEXT, context(base_url)],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if batch is not None and lot_id is not None:
        master = footprint_master_data(footprint(ledger, batch), lot_id, base_url)
        if master is not None:
            document["epcisHeader"] = {"epcisMasterData": {"vocabularyList": [master]}}
    document["epcisBody"] = {"eventList": event_list}
    return document


def _grams(kg: Decimal) -> str:
    return str(kg.quantize(Decimal("0.001")))


def footprint_master_data(fp: Footprint, lot_id: str, base_url: str) -> dict[str, Any] | None:
    """The lot's carbon footprint as master data of its class (vocabulary EPCClass), an `ft:carbonFootprint`
    attribute: master data, not an event field, so the events' CBV hash IDs do not move when later
    activity data changes the figure. None when nothing was recorded."""
    if not fp.stages:
        return None
    ns = base_url.rstrip("/") + "/ns/"
    value = {key.replace("ft_", "ft:"): v for key, v in {
        "ft_kgCO2e": _grams(fp.total_kg), "ft_quantity": None if fp.quantity is None else str(fp.quantity),
        "ft_unit": fp.unit, "ft_kgCO2ePerUnit": None if fp.per_unit_kg is None else str(fp.per_unit_kg.quantize(Decimal("0.000001"))),
        "ft_method": fp.method, "ft_factorTables": list(fp.table_versions), "ft_factorRows": list(fp.factor_rows),
        "ft_estimate": fp.estimate,
        "ft_stages": [{"ft:batch": s.batch, "ft:org": s.org, "ft:kgCO2e": _grams(s.kg_co2e)} for s in fp.stages],
    }.items() if v is not None}
    return {"type": "urn:epcglobal:epcis:vtype:EPCClass",
            "vocabularyElementList": [{"id": lot_id, "attributes": [{"id": ns + "carbonFootprint", "attribute": value}]}]}


def context(base_url: str) -> dict[str, Any]:
    """Our JSON-LD prefix; `ft:data` (the signed key data elements) is a JSON literal."""
    ns = base_url.rstrip("/") + "/ns/"
    return {"ft": ns, "ft:data": {"@id": ns + "data", "@type": "@json"}}


def number(value: Any) -> int | float | None:
    """A decimal string as a JSON number (EPCIS quantities and sensor values are numbers)."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite():
        return None
    return int(d) if d == d.to_integral_value() else float(d)


class _Mapper:
    def __init__(self, facts: Facts, base: str) -> None:
        self.facts, self.base = facts, base

    # ---- identifiers ----
    def _id(self, *parts: str) -> str:
        return self.base + "/id/" + "/".join(quote(str(p), safe="") for p in parts)

    def org(self, org_id: str) -> str:
        return self._id("org", org_id)

    def doc(self, org_id: str, number_: str) -> str:
        return self._id("doc", org_id, number_)

    def lot(self, batch_id: str) -> str:
        """The lot's class-level identifier (LGTIN as Digital Link when a GTIN is known)."""
        row = self.facts.batch(batch_id)
        gtin = self.facts.gtins.get(batch_id)
        if row is not None and gtin:
            return f"{GS1_ID}/01/{gtin}/10/{quote(row.lot, safe='')}"
        return f"{self.base}/batches/{quote(batch_id, safe='')}"

    def serial(self, batch_id: str, serial: str) -> str:
        gtin = self.facts.gtins.get(batch_id)
        if gtin:
            return f"{GS1_ID}/01/{gtin}/21/{quote(serial, safe='')}"
        return f"{self.base}/batches/{quote(batch_id, safe='')}/serials/{quote(serial, safe='')}"

    def quantity(self, batch_id: str, quantity: Any = None, unit: Any = None) -> dict[str, Any]:
        """A quantityElement; a unit without a UN/CEFACT code (e.g. mu) leaves the amount to ft:data."""
        element: dict[str, Any] = {"epcClass": self.lot(batch_id)}
        amount = number(quantity) if quantity is not None else None
        if amount is None or amount <= 0:
            return element
        if unit in COUNT_UNITS:
            element["quantity"] = amount
        elif isinstance(unit, str) and unit in UOM:
            element.update(quantity=amount, uom=UOM[unit])
        return element

    # ---- events ----
    def map(self, events: list[Event]) -> list[dict[str, Any]]:
        parsed = [(e, body(e)) for e in events if e.type not in SKIPPED and e.batch_id]
        ships = {b["data"].get("ship") for e, b in parsed if e.type == "receive"}
        known = {e.hash: e for e in events}
        self.ships = {**self.facts.events_by_hash(h for h in ships if h not in known), **known}
        self.verdicts = self.facts.verdicts(e.hash for e, _ in parsed if e.type == "test")
        out: list[dict[str, Any]] = []
        transformations: dict[tuple[str, ...], dict[str, Any]] = {}
        for event, b in parsed:
            if event.type == "transform":
                key = tuple(sorted(str(i.get("event")) for i in b["data"].get("inputs", [])))
                if key in transformations:
                    self._add_output(transformations[key], event, b)
                    continue
                transformations[key] = mapped = self.transformation(event, b)
            else:
                mapped = self.one(event, b)
            out.append(mapped)
        namespaces = {"ft": self.base + "/ns/"}
        for mapped in out:  # last: an extra output changes its TransformationEvent
            mapped["eventID"] = cbv_event_id(mapped, namespaces)
        return out

    def _common(self, event: Event, b: dict[str, Any], kind: str) -> dict[str, Any]:
        at = str(b["at"])
        offset = "+00:00" if at.endswith("Z") else at[-6:]
        common: dict[str, Any] = {"type": kind, "eventTime": at, "eventTimeZoneOffset": offset}
        recorded = event.recorded_at
        if recorded is not None:
            recorded = recorded if recorded.tzinfo else recorded.replace(tzinfo=timezone.utc)
            common["recordTime"] = recorded.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z")
        common["eventID"] = ""  # the CBV event hash, once the event is complete (map)
        return common

    def _ours(self, event: Event, b: dict[str, Any]) -> dict[str, Any]:
        return {"ft:eventType": event.type, "ft:batch": event.batch_id, "ft:org": event.org_id, "ft:seq": event.seq,
                "ft:eventHash": event.hash, "ft:event": f"{self.base}/api/v1/events/{event.hash}",
                "ft:data": b["data"]}

    def _where(self, org_id: str, *, located: bool = True) -> dict[str, Any]:
        where: dict[str, Any] = {"readPoint": {"id": self.org(org_id)}}
        if located:
            where["bizLocation"] = {"id": self.org(org_id)}
        return where

    def one(self, event: Event, b: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = b["data"]
        batch_id, org = str(event.batch_id), event.org_id
        kind = event_type(event.type)
        out = self._common(event, b, "AggregationEvent" if event.type == "packed" else "ObjectEvent")
        if kind is not None and kind.genesis:
            out.update(action="ADD", quantityList=[self.quantity(batch_id, data.get("quantity"), data.get("unit"))],
                       bizStep="commissioning", disposition="active", **self._where(org),
                       ilmd=self._ilmd(data))
        elif event.type == "commissioned":
            serials = serial_range(data)
            if serials:
                out.update(action="ADD", epcList=[self.serial(batch_id, s) for s in serials])
            else:
                out.update(action="ADD", quantityList=[self.quantity(batch_id, data.get("count"), "unit")])
            out.update(bizStep="commissioning", disposition="active", **self._where(org))
        elif event.type == "packed":
            units = data.get("units") or data.get("count")
            out.update(parentID=self._id("pack", event.hash), childQuantityList=[self.quantity(batch_id, units, "unit")],
                       action="ADD", bizStep="packing", disposition="in_progress", **self._where(org))
        elif event.type == "ship":
            out.update(action="OBSERVE", quantityList=[self.quantity(batch_id, data.get("quantity"), data.get("unit"))],
                       bizStep="shipping", disposition="in_transit", **self._where(org, located=False))
            self._transactions(out, org, data, doc_type="desadv")
            out["sourceList"] = [{"type": "owning_party", "source": self.org(org)}]
            if isinstance(data.get("to"), str):
                out["destinationList"] = [{"type": "owning_party", "destination": self.org(data["to"])}]
        elif event.type == "receive":
            out.update(action="OBSERVE", quantityList=[self.quantity(batch_id, data.get("quantity"), data.get("unit"))],
                       bizStep="receiving", disposition="in_progress", **self._where(org))
            ship = self.ships.get(str(data.get("ship")))
            shipped = body(ship)["data"] if ship is not None else {}
            if ship is not None:
                self._transactions(out, ship.org_id, {"doc": shipped.get("doc")}, doc_type="desadv")
            self._transactions(out, org, {"certificate_no": data.get("certificate_no")}, doc_type="desadv")
            if ship is not None:
                out["sourceList"] = [{"type": "owning_party", "source": self.org(ship.org_id)}]
            out["destinationList"] = [{"type": "owning_party", "destination": self.org(org)}]
        elif event.type == "recall":
            flagged = self.facts.recalled_batches(event.hash) or [batch_id]
            ordered = [batch_id] + [b_ for b_ in flagged if b_ != batch_id]
            self.facts.load(ordered)
            out.update(action="OBSERVE", quantityList=[self.quantity(b_) for b_ in ordered], bizStep="holding",
                       disposition="recalled", persistentDisposition={"set": ["recalled"]},
                       **self._where(org, located=False))
        elif event.type == "certificate_issued":
            self._certificate(out, event, data)
        elif event.type in INSPECTIONS:
            out.update(action="OBSERVE", quantityList=[self.quantity(batch_id)], bizStep="inspecting")
            verdict = self._verdict(event, data)
            if verdict:
                out["disposition"] = verdict
            out.update(self._where(org))
            if event.type == "test":
                self._transactions(out, org, {"report_no": data.get("report_no")}, doc_type="testres")
            else:
                self._transactions(out, org, data, doc_type="cert")
        else:
            step, disposition = OBSERVE_STEPS.get(event.type, ("other", "in_progress" if event.type in RECORDS else None))
            out.update(action="OBSERVE", quantityList=[self.quantity(batch_id, data.get("quantity"), data.get("unit"))],
                       bizStep=step)
            if disposition:
                out["disposition"] = disposition
            out.update(self._where(org, located=event.type != "sell"))
            if event.type == "temperature_logged":
                self._sensor(out, event, data)
            if event.type == "correct" and isinstance(data.get("amends"), str):
                out["ft:amends"] = EVENT_ID.format(hash=data["amends"])
        out.update(self._ours(event, b))
        return out

    def transformation(self, event: Event, b: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = b["data"]
        inputs = [i for i in data.get("inputs", []) if isinstance(i, dict)]
        self.facts.load(str(i.get("batch")) for i in inputs)
        process = str(data.get("process", ""))
        out = self._common(event, b, "TransformationEvent")
        out.update(
            inputQuantityList=[self.quantity(str(i.get("batch")), i.get("quantity"), i.get("unit")) for i in inputs],
            outputQuantityList=[self.quantity(str(event.batch_id), data.get("quantity"), data.get("unit"))],
            bizStep="killing" if process == "slaughter" else "commissioning",
            disposition="in_progress" if process == "slaughter" else "active",
            **self._where(event.org_id), ilmd=self._ilmd(data))
        out.update(self._ours(event, b))
        out["ft:consumeEvents"] = [EVENT_ID.format(hash=i.get("event")) for i in inputs]
        return out

    def _add_output(self, mapped: dict[str, Any], event: Event, b: dict[str, Any]) -> None:
        """Another output of the same transformation (same consume events): one EPCIS event, many outputs."""
        data = b["data"]
        mapped["outputQuantityList"].append(self.quantity(str(event.batch_id), data.get("quantity"), data.get("unit")))
        mapped.setdefault("ft:outputEvents", []).append(EVENT_ID.format(hash=event.hash))
        mapped.pop("ilmd", None)  # master data of one output would be wrong for the others: each is in ft:outputEvents

    def _ilmd(self, data: dict[str, Any]) -> dict[str, Any]:
        return {f"ft:{k}": data[k] for k in ("product", "lot", "family", "place") if isinstance(data.get(k), str)}

    def _verdict(self, event: Event, data: dict[str, Any]) -> str | None:
        if event.type == "test":
            return VERDICT.get(self.verdicts.get(event.hash, ""))
        result = str(data.get("result", "")).lower()
        return VERDICT.get(result)

    def _transactions(self, out: dict[str, Any], org: str, data: dict[str, Any], *, doc_type: str) -> None:
        found = out.setdefault("bizTransactionList", [])
        for name, kind in (("doc", doc_type), ("report_no", doc_type), ("certificate_no", "cert"),
                           ("quarantine_certificate", "cert"), ("quality_certificate", "cert")):
            value = data.get(name)
            if isinstance(value, str) and value.strip():
                entry = {"type": kind, "bizTransaction": self.doc(org, value)}
                if entry not in found:
                    found.append(entry)
        if not found:
            del out["bizTransactionList"]

    def _certificate(self, out: dict[str, Any], event: Event, data: dict[str, Any]) -> None:
        """A 承诺达标合格证: an OBSERVE of the lot (ilmd is for ADD only), the certificate in `certificationInfo`
        and `bizTransactionList` (type cert) and its content in `ft:certificate`."""
        batch_id = str(event.batch_id)
        county = str(data.get("county", ""))
        place = f"{COUNTIES.get(county, (county, ''))[0]} {data.get('town', '')}".strip()
        number_ = str(data.get("certificate_no", ""))
        out.update(action="OBSERVE", quantityList=[self.quantity(batch_id, data.get("quantity"), data.get("unit"))],
                   bizStep="other", **self._where(event.org_id), certificationInfo=self.doc(event.org_id, number_))
        self._transactions(out, event.org_id, {"certificate_no": number_}, doc_type="cert")
        issuer = self.facts.orgs.get(event.org_id)
        out["ft:certificate"] = {
            "ft:kind": "承诺达标合格证", "ft:number": number_, "ft:product": str(data.get("product", "")),
            "ft:quantity": str(data.get("quantity", "")), "ft:unit": str(data.get("unit", "")),
            "ft:county": county, "ft:place": place, "ft:issuer": self.org(event.org_id),
            "ft:issuerName": issuer.name if issuer is not None else event.org_id,
            "ft:issued": str(event.at)[:10] if event.at else "", "ft:basis": str(data.get("basis", ""))}

    def _sensor(self, out: dict[str, Any], event: Event, data: dict[str, Any]) -> None:
        value = number(data.get("value"))
        if value is None or data.get("unit") != "CEL":
            return
        metadata: dict[str, Any] = {"time": out["eventTime"]}
        if isinstance(data.get("device"), str):
            metadata["deviceID"] = self._id("device", event.org_id, data["device"])
        out["sensorElementList"] = [{"sensorMetadata": metadata,
                                     "sensorReport": [{"type": "Temperature", "value": value, "uom": "CEL"}]}]


def serial_range(data: dict[str, Any], limit: int = 100_000) -> list[str]:
    """The serials first_serial..last_serial (same prefix, numeric tail), if they make `count`; else []."""
    first, last = str(data.get("first_serial", "")), str(data.get("last_serial", ""))
    head_a, tail_a = _split(first)
    head_b, tail_b = _split(last)
    if not tail_a or head_a != head_b or len(tail_a) != len(tail_b):
        return []
    low, high = int(tail_a), int(tail_b)
    count = number(data.get("count"))
    if high < low or high - low + 1 > limit or (count is not None and count != high - low + 1):
        return []
    return [f"{head_a}{n:0{len(tail_a)}d}" for n in range(low, high + 1)]


def _split(serial: str) -> tuple[str, str]:
    i = len(serial)
    while i > 0 and serial[i - 1].isdigit():
        i -= 1
    return serial[:i], serial[i:]
