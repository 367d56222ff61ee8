"""兜底保障 (basic-living support; issue 13, rules.md §4): who cannot escape poverty by work, confirmed
by an officer and placed in a care home, a hospital or at home with a guardian, and the monthly visits
of home placements.

- registry.member_care_v1 (read contract, owner: registry): the active members of households not
  archived with what the 兜底 groups read — household status, birth date, health, disability grade,
  labour ability; screening's suggestion list is a query over it (shared/contracts/registry.py).
- screening.care_institution: a care home (集中供养, at most 5 residents per carer) or a hospital
  (集中救治) of a county, township or village, with its number of carers.
- screening.care_subject: a member confirmed as a 兜底 subject (group, by whom), then placed:
  `institutional` in a care home, `treatment` in a hospital, or `home` (分散托养) with a guardian
  and a signed agreement; one open subject per member.
- screening.care_visit: a visit of a home placement (一月一回访).

Revision ID: 0014_care
Revises: 0013_dibao_standards
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_care"
down_revision = "0013_dibao_standards"
branch_labels = None
depends_on = None

S = "screening"

_VIEW = """
CREATE VIEW registry.member_care_v1 AS
SELECT m.id                     AS member_id,
       m.household_id           AS household_id,
       h.county_code::text      AS county_code,
       h.township_code::text    AS township_code,
       h.village_code::text     AS village_code,
       h.status::text           AS household_status,
       m.birth_date             AS birth_date,
       m.health::text           AS health,
       m.disability_grade       AS disability_grade,
       m.labour_ability::text   AS labour_ability
  FROM registry.member m
  JOIN registry.household h ON h.id = m.household_id AND h.county_code = m.county_code
 WHERE m.active AND h.archived_at IS NULL
"""
_COMMENT = """
COMMENT ON VIEW registry.member_care_v1 IS
'Read contract v1 (owner: registry). The active members of households not archived, with the fields '
'the 兜底 groups read (household status, birth date, health, disability grade, labour ability). '
'Filter by county_code. See shared/contracts/registry.py.';
"""


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.execute(_VIEW)
    op.execute(_COMMENT)
    op.create_table(
        "care_institution",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("carers", sa.Integer, nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_care_institution"),
        sa.CheckConstraint("kind IN ('care_home', 'hospital')", name="ck_care_institution_kind"),
        sa.CheckConstraint("carers >= 0", name="ck_care_institution_carers"),
        schema=S,
    )
    op.create_table(
        "care_subject",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("household_id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("care_group", sa.String(24), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("placement", sa.String(16)),
        sa.Column("institution_id", sa.Uuid),
        sa.Column("guardian_name", sa.Text),
        sa.Column("agreement_ref", sa.Text),
        sa.Column("agreement_signed_on", sa.Date),
        sa.Column("placed_on", sa.Date),
        sa.Column("note", sa.Text),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_care_subject"),
        sa.ForeignKeyConstraint(
            ["institution_id", "county_code"],
            [f"{S}.care_institution.id", f"{S}.care_institution.county_code"],
            name="fk_care_subject_institution",
        ),
        sa.CheckConstraint("status IN ('confirmed', 'placed', 'ended')", name="ck_care_subject_status"),
        sa.CheckConstraint(
            "placement IS NULL OR placement IN ('institutional', 'treatment', 'home')", name="ck_care_subject_placement"
        ),
        schema=S,
    )
    op.create_index(
        "uq_care_subject_member",
        "care_subject",
        ["county_code", "member_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status <> 'ended'"),
    )
    op.create_index("ix_care_subject_institution", "care_subject", ["county_code", "institution_id"], schema=S)
    op.create_table(
        "care_visit",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("subject_id", sa.Uuid, nullable=False),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("visitor", sa.Text, nullable=False),
        sa.Column("findings", sa.Text),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", "county_code", name="pk_care_visit"),
        sa.ForeignKeyConstraint(
            ["subject_id", "county_code"],
            [f"{S}.care_subject.id", f"{S}.care_subject.county_code"],
            name="fk_care_visit_subject",
        ),
        schema=S,
    )
    op.create_index("ix_care_visit_subject", "care_visit", ["county_code", "subject_id", "visit_date"], schema=S)


def downgrade() -> None:
    op.drop_table("care_visit", schema=S)
    op.drop_table("care_subject", schema=S)
    op.drop_table("care_institution", schema=S)
    op.execute("DROP VIEW registry.member_care_v1")
