"""The claims domain: schemes, assessment (rules.md §2.2) and the claim workflow (§2.4).

Pure: imports nothing from FastAPI, SQLAlchemy, httpx or pydantic.
"""

from services.claims.domain.assessment import (
    EXPENSE_KEYS,
    Assessment,
    ClaimFacts,
    FactsInvalid,
    HouseholdFacts,
    RejectionCode,
    YearToDate,
    assess,
    explain,
    facts_to_dict,
    parse_claim_input,
)
from services.claims.domain.reference import REFERENCE_SCHEME, reference_scheme_data
from services.claims.domain.scheme import (
    Category,
    HouseholdStatus,
    PoolMode,
    Scheme,
    SchemeInvalid,
    SchoolLevel,
    parse_scheme,
    scheme_to_dict,
)
from services.claims.domain.values import ClaimsDomainError, InvalidInput
from services.claims.domain.workflow import (
    ClaimAction,
    ClaimState,
    Role,
    TransitionNotAllowed,
    authorize,
    next_state,
)

__all__ = [
    "EXPENSE_KEYS",
    "REFERENCE_SCHEME",
    "Assessment",
    "Category",
    "ClaimAction",
    "ClaimFacts",
    "ClaimState",
    "ClaimsDomainError",
    "FactsInvalid",
    "HouseholdFacts",
    "HouseholdStatus",
    "InvalidInput",
    "PoolMode",
    "RejectionCode",
    "Role",
    "Scheme",
    "SchemeInvalid",
    "SchoolLevel",
    "TransitionNotAllowed",
    "YearToDate",
    "assess",
    "authorize",
    "explain",
    "facts_to_dict",
    "next_state",
    "parse_claim_input",
    "parse_scheme",
    "reference_scheme_data",
    "scheme_to_dict",
]
