"""Feed batch parsing and record validation (services/screening/domain/feeds.py): pure, no database."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from stdnum.cn import ric

from services.screening.domain.feeds import parse_batch, valid_national_id
from services.screening.domain.risk import FeedKind
from shared.contracts.vocabulary import mask_national_id
from tests.screening.support import national_id

TODAY = date(2026, 4, 5)


def test_valid_national_ids() -> None:
    nid = national_id()
    assert valid_national_id(nid, TODAY)
    assert not valid_national_id(nid[:-1] + ("0" if nid[-1] != "0" else "1"), TODAY)  # check character
    assert not valid_national_id(nid[:17], TODAY)
    assert not valid_national_id("00" + nid[2:], TODAY)
    born_tomorrow = "410602" + "20260406" + "001"
    assert not valid_national_id(born_tomorrow + ric.calc_check_digit(born_tomorrow + "0"), TODAY)
    feb30 = "410602" + "20000230" + "001"
    assert not valid_national_id(feb30 + ric.calc_check_digit(feb30 + "0"), TODAY)
    assert mask_national_id(nid) == nid[:6] + "********" + nid[-4:]


def test_jsonl_records_are_normalised() -> None:
    nid = national_id()
    line = (
        json.dumps(
            {
                "source_record_id": " YB-1 ",
                "national_id": nid.lower(),
                "kind": "medical_expense",
                "event_date": "2026-01-02",
                "details": {"hospital": "县医院", "days": 4},
            }
        )[:-1]
        + ', "amounts": {"total_cost": 1200.5, "self_paid": "300"}}\n'
    )  # a JSON number, read exactly
    batch = parse_batch(line.encode(), "jsonl", "medical_insurance", TODAY)
    assert batch.errors == ()
    [record] = batch.records
    assert record.source_record_id == "YB-1"
    assert record.national_id == nid.upper()
    assert record.kind is FeedKind.MEDICAL_EXPENSE
    assert record.amounts == {
        "total_cost": Decimal("1200.5"),
        "basic_insurance": Decimal(0),
        "critical_illness_insurance": Decimal(0),
        "medical_assistance": Decimal(0),
        "self_paid": Decimal("300"),
    }
    assert record.amount == Decimal("300")  # the self-paid part counts in M
    assert record.details == {"hospital": "县医院", "days": 4}
    assert batch.control_total == Decimal("1500.5")


def test_education_counts_cost_minus_aid_and_never_below_zero() -> None:
    lines = (
        '{"source_record_id": "1", "household_number": "H1", "kind": "education_expense", "event_date": "2026-01-02",'
        ' "amounts": {"cost": "9000", "aid": "2500"}}\n'
        '{"source_record_id": "2", "household_number": "H1", "kind": "education_expense", "event_date": "2026-01-02",'
        ' "amounts": {"cost": "100", "aid": "300"}}\n'
    )
    batch = parse_batch(lines.encode(), "jsonl", "education", TODAY)
    assert [r.amount for r in batch.records] == [Decimal("6500"), Decimal("0")]


def test_the_control_total_is_what_was_sent_even_for_refused_records() -> None:
    lines = (
        '{"source_record_id": "1", "household_number": "H", "kind": "disaster_loss", "event_date": "2026-01-02",'
        ' "amounts": {"loss": "-5.00"}}\n'
        '{"source_record_id": "2", "household_number": "H", "kind": "disaster_loss", "event_date": "2026-01-02",'
        ' "amounts": {"loss": "7.005"}}\n'
        '{"source_record_id": "3", "household_number": "H", "kind": "disaster_loss", "event_date": "2026-01-02",'
        ' "amounts": {"loss": "lots"}}\n'
    )
    batch = parse_batch(lines.encode(), "jsonl", "emergency_management", TODAY)
    assert batch.record_count == 3
    assert batch.records == ()
    assert batch.control_total == Decimal("2.005")
    assert [e.code for e in batch.errors] == ["invalid_amount"] * 3


def test_csv_with_a_bom_blank_lines_and_quoted_details() -> None:
    text = (
        "\ufeffsource_record_id,household_number,kind,event_date,loss,note\n"
        'A-1,H-9,disaster_loss,2026-02-01,1000.00,"冰雹, 大棚倒塌"\n'
        "\n"
        "A-2,H-9,disaster_loss,2026-02-02,,\n"
    )
    batch = parse_batch(text.encode(), "csv", "emergency_management", TODAY)
    assert batch.record_count == 2
    assert [r.details for r in batch.records] == [{"note": "冰雹, 大棚倒塌"}]
    assert [(e.line_no, e.field, e.code) for e in batch.errors] == [(4, "amounts.loss", "missing_field")]


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\xfa", b"kind,event_date\nx,y\n"],
)
def test_batch_level_problems_raise(content: bytes) -> None:
    with pytest.raises(ValueError):
        parse_batch(content, "csv", "housing", TODAY)


def test_a_ragged_csv_row_is_a_record_error() -> None:
    text = "source_record_id,household_number,kind,event_date\nZ-1,H,housing_unsafe,2026-01-01,extra\n"
    batch = parse_batch(text.encode(), "csv", "housing", TODAY)
    assert batch.record_count == 1
    assert batch.errors[0].code == "invalid_record"


def test_every_school_level_a_scheme_may_pay_is_a_feed_level() -> None:
    """A school-admission record must be able to name any level of rules.md §2.1, or the claim
    lead for, say, a 高职 entrant could never be made."""
    from services.claims.domain.scheme import SchoolLevel
    from services.screening.domain.feeds import SCHOOL_LEVELS

    assert {level.value for level in SchoolLevel} <= SCHOOL_LEVELS
