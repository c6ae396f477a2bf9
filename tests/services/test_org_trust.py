"""Who may certify a batch and brand it: accredited labs for samples, GS1 company prefixes for `packed`.

Issue 11, "The log's trust root": a producer cannot be its own lab, and no org can claim another
brand's GTIN (and with it the Digital Link `/01/{gtin}/10/{lot}`). Through the real ledger on both
databases.
"""

import pytest
from sqlalchemy import text

from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import ChainConflictError, CustodyError, InvalidEventError, NotFoundError
from farmtrace.services.verify import verify_log
from farmtrace.storage.engine import make_engine

BRAND_PREFIX, SQUATTER_PREFIX = "9521001", "9521009"
BRAND_GTIN = "09521001005012"        # GTIN-14 under 9521001 (indicator 0)
BRAND_GTIN13 = "9521001005012"       # the same GTIN written as a GTIN-13
BRAND_CASE_GTIN = "19521001005019"   # indicator 1 (a case of the same item): still under 9521001


@pytest.fixture
def labs(ledger, make_org, make_batch):
    """A farm's paddy lot held by a mill, an accredited lab, and orgs that must not be named as the lab."""
    farm, mill = make_org(), make_org(kind="processor")
    lab = make_org(kind="lab")  # make_org gives a lab a CMA number
    ledger.create_org("lab-no-cma", "未登记 CMA 的检测站", kind="lab")
    lab_farm = make_org(kind="lab")  # an accredited lab that also grows (and so originates) the paddy
    paddy = make_batch(lab_farm, quantity="1000", unit="KGM")
    shipped = ledger.append({"type": "ship", "batch": paddy, "data": {"to": mill, "quantity": "1000", "unit": "KGM"}},
                            actor=Actor(org=lab_farm))
    ledger.append({"type": "receive", "batch": paddy, "data": {"ship": shipped.hash, "quantity": "1000",
                                                               "unit": "KGM"}}, actor=Actor(org=mill))
    return {"farm": farm, "mill": mill, "lab": lab, "no-cma": "lab-no-cma", "origin": lab_farm, "paddy": paddy,
            "nobody": "no-such-org"}


def sample(ledger, batch, holder, lab, sample_id="S-1"):
    return ledger.append({"type": "sample", "batch": batch, "data": {"lab": lab, "sample_id": sample_id}},
                         actor=Actor(org=holder))


def result(batch, sample_hash):
    return {"type": "test", "batch": batch, "data": {"sample": sample_hash, "analyte": "Cd", "method": "GB 5009.15",
                                                     "value": "0.05", "unit": "mg/kg", "report_no": "R-1"}}


BAD_LABS = {  # id: (who the sample names as data.lab, words the message must carry)
    "the holder itself": ("mill", "cannot be its lab"),
    "the batch's origin producer, though an accredited lab": ("origin", "origin producer"),
    "an org that is not a lab": ("farm", "not a lab"),
    "a lab with no CMA number recorded": ("no-cma", "CMA"),
    "an org that does not exist": ("nobody", "No such org"),
}


@pytest.mark.parametrize(("named", "words"), list(BAD_LABS.values()), ids=list(BAD_LABS))
def test_a_sample_must_name_an_accredited_lab_other_than_the_holder_and_the_producer(ledger, labs, named,
                                                                                     words) -> None:
    before = ledger.row_counts()
    with pytest.raises(InvalidEventError) as refused:
        sample(ledger, labs["paddy"], labs["mill"], labs[named])
    assert refused.value.field == "data.lab"
    assert words in refused.value.message and labs[named] in refused.value.message
    assert ledger.row_counts() == before


def test_only_the_accredited_lab_a_sample_names_appends_its_test(ledger, labs) -> None:
    sent = sample(ledger, labs["paddy"], labs["mill"], labs["lab"])
    for intruder in ("mill", "origin", "no-cma"):  # the holder, the producer, another lab: none may answer
        with pytest.raises(CustodyError) as refused:
            ledger.append(result(labs["paddy"], sent.hash), actor=Actor(org=labs[intruder]))
        assert refused.value.field == "org"
    stored = ledger.append(result(labs["paddy"], sent.hash), actor=Actor(org=labs["lab"]))
    assert stored.body.org == labs["lab"]
    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok


def test_a_lab_whose_cma_number_is_not_recorded_cannot_answer_a_sample_sent_to_it_before(db, ledger, labs) -> None:
    sent = sample(ledger, labs["paddy"], labs["mill"], labs["lab"])
    engine = make_engine(db["owner_url"])  # as a log from before CMA numbers were recorded would have it
    with engine.begin() as conn:
        conn.execute(text("UPDATE orgs SET cma_number = NULL WHERE id = :id"), {"id": labs["lab"]})
    engine.dispose()
    before = ledger.row_counts()
    with pytest.raises(CustodyError) as refused:
        ledger.append(result(labs["paddy"], sent.hash), actor=Actor(org=labs["lab"]))
    assert refused.value.field == "org" and "CMA" in refused.value.message
    assert ledger.row_counts() == before


BAD_CMA = {  # id: (kind, CMA number)
    "a CMA number for an org that is not a lab": ("producer", "242312050117"),
    "a CMA number of 11 digits": ("lab", "24231205011"),
    "a CMA number with letters": ("lab", "CMA-2423-120"),
}


@pytest.mark.parametrize(("kind", "cma"), list(BAD_CMA.values()), ids=list(BAD_CMA))
def test_an_org_is_not_created_with_a_malformed_or_misplaced_cma_number(ledger, kind, cma) -> None:
    before = ledger.row_counts()
    with pytest.raises(InvalidEventError) as refused:
        ledger.create_org("org-x", "某机构", kind=kind, cma=cma)
    assert refused.value.field == "cma"
    assert ledger.row_counts() == before


def test_a_lab_recorded_later_with_its_cma_number_may_then_be_named(ledger, labs) -> None:
    with pytest.raises(InvalidEventError):
        sample(ledger, labs["paddy"], labs["mill"], labs["no-cma"])
    ledger.set_cma(labs["no-cma"], "242312059999")
    assert sample(ledger, labs["paddy"], labs["mill"], labs["no-cma"]).body.data["lab"] == labs["no-cma"]


# ---- GS1 company prefixes and `packed` ----
@pytest.fixture
def brands(ledger, make_org, make_batch):
    """A brand owner and a squatter, each with its own company prefix and a lot to pack; an org with no prefix."""
    brand, squatter, plain = make_org(kind="processor"), make_org(kind="processor"), make_org()
    assert ledger.add_company_prefix(brand, BRAND_PREFIX) and ledger.add_company_prefix(squatter, SQUATTER_PREFIX)
    return {"brand": brand, "squatter": squatter, "plain": plain,
            "brand_lot": make_batch(brand, lot="NJR-7"), "squatter_lot": make_batch(squatter, lot="FAKE-1"),
            "plain_lot": make_batch(plain, lot="P-1")}


def packed(ledger, batch, org, **data):
    return ledger.append({"type": "packed", "batch": batch, "data": {"units": "10", **data}}, actor=Actor(org=org))


def linked(ledger, gtin, lot):
    with ledger.uow() as uow:
        return uow.gtin_lot(gtin, lot)


BAD_PACKINGS = {  # id: (who packs, data of the packed event, field the error must name)
    "another brand's GTIN": ("squatter", {"gtin": BRAND_GTIN}, "data.gtin"),
    "another brand's GTIN with the lot it wants to claim": ("squatter", {"gtin": BRAND_GTIN, "lot": "NJR-8"},
                                                            "data.lot"),
    "a GTIN by an org with no prefix registered": ("plain", {"gtin": BRAND_GTIN}, "data.gtin"),
    "its own GTIN with a wrong check digit": ("brand", {"gtin": "09521001005013"}, "data.gtin"),
    "a GTIN-8": ("brand", {"gtin": "95210018"}, "data.gtin"),
    "its own GTIN with another lot code": ("brand", {"gtin": BRAND_GTIN, "lot": "NJR-8"}, "data.lot"),
    "a lot code alone that is not the batch's": ("brand", {"lot": "NJR-8"}, "data.lot"),
}


@pytest.mark.parametrize(("who", "data", "field"), list(BAD_PACKINGS.values()), ids=list(BAD_PACKINGS))
def test_a_packed_event_claiming_a_gtin_or_lot_that_is_not_the_packers_is_refused(ledger, brands, who, data,
                                                                                  field) -> None:
    before = ledger.row_counts()
    with pytest.raises(InvalidEventError) as refused:
        packed(ledger, brands[f"{who}_lot"], brands[who], **data)
    assert refused.value.field == field and refused.value.message
    assert ledger.row_counts() == before
    assert linked(ledger, BRAND_GTIN, "NJR-7") is None and linked(ledger, BRAND_GTIN, "NJR-8") is None


GOOD_PACKINGS = {  # id: (data of the packed event, the GTIN-14 the Digital Link uses)
    "its GTIN-14": ({"gtin": BRAND_GTIN}, BRAND_GTIN),
    "its GTIN-13 with the batch's own lot": ({"gtin": BRAND_GTIN13, "lot": "NJR-7"}, BRAND_GTIN),
    "a case GTIN (indicator 1) of its item": ({"gtin": BRAND_CASE_GTIN}, BRAND_CASE_GTIN),
}


@pytest.mark.parametrize(("data", "gtin"), list(GOOD_PACKINGS.values()), ids=list(GOOD_PACKINGS))
def test_the_brand_owner_packs_its_own_gtin_and_its_lot_becomes_the_digital_link(ledger, brands, data, gtin) -> None:
    packed(ledger, brands["brand_lot"], brands["brand"], **data)
    assert linked(ledger, gtin, "NJR-7") == brands["brand_lot"]


def test_a_squatter_cannot_take_a_brands_digital_link_before_the_brand_packs(ledger, brands) -> None:
    with pytest.raises(InvalidEventError):  # first claim used to win /01/{gtin}/10/{lot}
        packed(ledger, brands["squatter_lot"], brands["squatter"], gtin=BRAND_GTIN)
    packed(ledger, brands["brand_lot"], brands["brand"], gtin=BRAND_GTIN)
    assert linked(ledger, BRAND_GTIN, "NJR-7") == brands["brand_lot"]
    packed(ledger, brands["squatter_lot"], brands["squatter"], gtin="09521009000019")  # its own prefix: fine
    assert linked(ledger, "09521009000019", "FAKE-1") == brands["squatter_lot"]


BAD_PREFIXES = {  # id: (prefix, error)
    "three digits": ("952", InvalidEventError),
    "thirteen digits": ("9521001005012", InvalidEventError),
    "letters": ("95210A1", InvalidEventError),
    "a restricted-circulation (in-store) number": ("2001234", InvalidEventError),
    "an ISBN prefix": ("9787020", InvalidEventError),
    "the GTIN-8 range": ("0000012", InvalidEventError),
    "a longer prefix inside another org's": ("95210011", ChainConflictError),
    "a shorter prefix around another org's": ("952100", ChainConflictError),
}


@pytest.mark.parametrize(("prefix", "error"), list(BAD_PREFIXES.values()), ids=list(BAD_PREFIXES))
def test_a_company_prefix_that_is_malformed_or_overlaps_another_orgs_is_not_registered(ledger, brands, prefix,
                                                                                      error) -> None:
    with pytest.raises(error) as refused:
        ledger.add_company_prefix(brands["plain"], prefix)
    assert refused.value.field == "prefix"
    assert [p.prefix for p in ledger.company_prefixes(brands["plain"])] == []


def test_registering_a_prefix_twice_to_its_owner_changes_nothing_and_listing_names_owners(ledger, brands) -> None:
    assert ledger.add_company_prefix(brands["brand"], BRAND_PREFIX) is False
    assert [(p.prefix, p.org_id) for p in ledger.company_prefixes()] == sorted(
        [(BRAND_PREFIX, brands["brand"]), (SQUATTER_PREFIX, brands["squatter"])], key=lambda p: p[1])
    with pytest.raises(NotFoundError):
        ledger.add_company_prefix("no-such-org", "9521234")
