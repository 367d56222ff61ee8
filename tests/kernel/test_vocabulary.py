"""The shared vocabulary (shared/contracts/vocabulary.py): one Role, HouseholdStatus, MonitoringType, masking."""

from __future__ import annotations

import ast
import pathlib
import typing

import pytest

from shared import auth, pii
from shared.contracts import registry as registry_contract
from shared.contracts.vocabulary import (
    MONITORED_STATUSES,
    HouseholdStatus,
    LabelledEnum,
    MonitoringType,
    Role,
    labels_zh,
    mask_bank_account,
    mask_household_number,
    mask_name,
    mask_national_id,
    mask_phone,
)


def test_the_old_homes_re_export_the_one_definition() -> None:
    assert auth.Role is Role
    for name in ("mask_national_id", "mask_bank_account", "mask_phone", "mask_name", "mask_household_number"):
        assert getattr(pii, name) is globals()[name]


def test_role_order_is_the_primary_role_ranking() -> None:
    assert [r.value for r in Role] == [
        "village_cadre", "township_officer", "county_officer", "department_feeder",
        "insurer_adjuster", "auditor", "admin", "service",
    ]  # fmt: skip
    principal = auth.Principal(sub="u", roles=frozenset({Role.ADMIN, Role.TOWNSHIP_OFFICER}), region="")
    assert principal.primary_role is Role.TOWNSHIP_OFFICER


def test_household_status_values_and_labels() -> None:
    assert {s.value: s.label_zh for s in HouseholdStatus} == {
        "ordinary": "一般农户",
        "lifted_out": "脱贫户",
        "unstable": "脱贫不稳定户",
        "marginal": "边缘易致贫户",
        "sudden_hardship": "突发严重困难户",
    }
    assert HouseholdStatus("lifted_out") is HouseholdStatus.LIFTED_OUT
    assert HouseholdStatus.LIFTED_OUT == "lifted_out"
    assert str(HouseholdStatus.LIFTED_OUT) == "lifted_out"
    assert labels_zh(HouseholdStatus)["marginal"] == "边缘易致贫户"
    with pytest.raises(ValueError):
        HouseholdStatus("一般农户")  # a label is not a value


def test_a_labelled_member_needs_its_label() -> None:
    with pytest.raises(TypeError, match="Chinese label"):

        class Unlabelled(LabelledEnum):
            ONE = "one"


def test_monitoring_types_are_the_monitored_statuses() -> None:
    monitored = {HouseholdStatus.UNSTABLE, HouseholdStatus.MARGINAL, HouseholdStatus.SUDDEN_HARDSHIP}
    assert monitored == MONITORED_STATUSES
    assert [s for s in HouseholdStatus if s.is_monitoring] == [t.status for t in MonitoringType]
    assert all(t.label_zh == t.status.label_zh for t in MonitoringType)


def test_the_wire_literals_match_the_enums() -> None:
    assert set(typing.get_args(registry_contract.HouseholdStatus)) == {s.value for s in HouseholdStatus}
    assert set(typing.get_args(registry_contract.MonitoringType)) == {t.value for t in MonitoringType}


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        (mask_national_id, "410602199001011234", "410602********1234"),
        (mask_national_id, "41060219900101123X", "410602********123X"),
        (mask_national_id, None, None),
        (mask_national_id, "", ""),
        # Not 18 long: shape unknown, nothing shown (a phone number typed in would show 10 of 11).
        (mask_national_id, "13812345678", "***********"),
        (mask_national_id, "410602900101123", "***************"),
        (mask_national_id, "1234", "****"),
        (mask_bank_account, "6222021234567890123", "***************0123"),
        (mask_bank_account, "123", "123"),
        (mask_bank_account, None, None),
        (mask_phone, "13812345678", "138****5678"),
        (mask_phone, "123456", "******"),
        (mask_household_number, "4106021002010017", "410602********17"),
        (mask_household_number, "12345678", "********"),
        (mask_name, "张三丰", "张**"),
        (mask_name, "李四", "李*"),
    ],
)
def test_masks(mask: typing.Callable[[str], str | None], value: str, expected: str | None) -> None:
    assert mask(value) == expected


def test_vocabulary_is_pure() -> None:
    """Domain modules import it, so it imports the standard library only."""
    source = pathlib.Path(__file__).parents[2] / "shared" / "contracts" / "vocabulary.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {
        ((node.module or "") if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "collections", "enum", "types", "typing"}
