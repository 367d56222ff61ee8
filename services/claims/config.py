from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.settings import ServiceSettings


class NoticeCounty(BaseModel):
    """What a county prints on its public notices (公示): who issues them, where to object, name masking."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuing_office: str | None = Field(
        default=None,
        max_length=100,
        description="出具单位, printed above the seal; unset: `<县名>防贫保险工作领导小组办公室`",
    )
    complaint_phone: str = Field(default="12345", min_length=3, max_length=40, description="投诉电话")
    objection_place: str = Field(
        default="村民委员会或乡镇人民政府", min_length=2, max_length=100, description="where objections are taken"
    )
    name_policy: Literal["first_last", "surname"] = Field(
        default="first_last", description="first_last: 张*国 (2 characters: 张*); surname: 张**"
    )


class ClaimsSettings(ServiceSettings):
    """Claims settings: `FANGPIN_CLAIMS_*` overrides `FANGPIN_*`."""

    service_name: ClassVar[str] = "claims"

    scheduler_enabled: bool = Field(
        default=True,
        description="run the background tasks: approve claims whose notice window ended, fetch facts of leads "
        "accepted while the registry was down",
    )
    scheduler_interval_seconds: float = Field(default=300.0, gt=0)
    max_batch_size: int = Field(default=5000, ge=1, description="claims in one payment batch")
    background_workers: bool | None = Field(
        default=None,
        description="run simulations as background tasks (false: inside the request that submits them); "
        "unset: follows outbox_enabled, as in screening",
    )

    @property
    def workers_on(self) -> bool:
        return self.outbox_enabled if self.background_workers is None else self.background_workers

    notice_counties: dict[str, NoticeCounty] = Field(
        default_factory=dict,
        description="per county code: issuing office, complaint phone, objection place and name policy of the "
        "printed notice (JSON); a county not listed gets the defaults of NoticeCounty",
    )

    def notice_county(self, county_code: str) -> NoticeCounty:
        return self.notice_counties.get(county_code) or NoticeCounty()
