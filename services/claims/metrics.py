"""Prometheus metrics of the claims service (served by the kernel's /metrics)."""

from prometheus_client import Counter

ASSESSMENTS = Counter(
    "fangpin_claims_assessments_total", "Claim assessments made, by category and outcome", ["category", "outcome"]
)
ASSESSED_PAYOUT = Counter(
    "fangpin_claims_assessed_payout_yuan_total", "Payouts assessed (yuan), by category", ["category"]
)
PAYMENTS = Counter("fangpin_claims_payment_confirmations_total", "Bank confirmations applied", ["status"])
LEADS = Counter("fangpin_claims_leads_total", "Claim leads received", ["result"])
