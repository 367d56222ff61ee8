"""Problem texts in the caller's language: one catalogue keyed by the stable `code`.

Services raise `ServiceError`s with English details; the kernel renders every problem+json through
`localize()`, which, when the request's `Accept-Language` prefers Chinese (zh, zh-CN, zh-Hans, …,
q-values honoured), replaces

- `title` by the code's Chinese title (or a generic one for the status when the code has none),
- `detail` by the code's Chinese template, its `{placeholders}` read back out of the English detail
  with the entry's English pattern (when the English does not match, the English detail stays),
- each field `message` by the Chinese template of its error `type`/`code` (pydantic's types and the
  project's own, filled from pydantic's `ctx` or, again, the English message).

Codes, fields and statuses never change with the language. The default language (no or unusable
`Accept-Language`) is `FANGPIN_DEFAULT_LANGUAGE` (`en` unless set: existing integrations read the
English texts; a county office sets `zh`).

Cost: the middleware only stores the raw header in a context variable; it is parsed when a problem
is rendered, so successful requests pay nothing.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.errors import FieldError, Problem

LANGUAGES = ("en", "zh")
#: (raw Accept-Language header, the service's default language) of the request being handled.
request_language_var: ContextVar[tuple[bytes, str]] = ContextVar("fangpin_language", default=(b"", "en"))


@lru_cache(maxsize=256)
def preferred_language(header: str, default: str = "en") -> str:
    """`zh` or `en`: the supported language the header ranks highest; `default` when it names neither.

    >>> preferred_language("zh-CN,zh;q=0.9,en;q=0.8")
    'zh'
    >>> preferred_language("en-US,zh;q=0.5", "zh")
    'en'
    """
    best, best_q = default, 0.0
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if not 0 < q <= 1:
            continue
        if primary == "*":
            primary = default
        if primary in LANGUAGES and q - position * 1e-6 > best_q:  # ties: the first listed wins
            best, best_q = primary, q - position * 1e-6
    return best


def current_language() -> str:
    raw, default = request_language_var.get()
    if not raw:
        return default
    return preferred_language(raw.decode("latin-1")[:200], default)


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Entry:
    """Chinese texts of one problem code. `detail` may name `{placeholders}` that `en` (the
    English detail with the same placeholders) captures; without `en` the detail is fixed text."""

    title: str
    detail: str | None = None
    en: str | tuple[str, ...] | None = None


E = Entry
GENERIC_TITLES = {
    400: "请求有误",
    401: "需要身份认证",
    403: "无权执行此操作",
    404: "未找到",
    405: "不支持该请求方法",
    409: "业务冲突",
    412: "资源已被他人修改",
    413: "请求体过大",
    415: "不支持的内容类型",
    422: "请求内容不合法",
    428: "缺少 If-Match 请求头",
    429: "请求过于频繁",
    431: "请求头过大",
    500: "内部错误",
    503: "服务暂不可用",
}

CATALOGUE: dict[str, Entry] = {
    # kernel: authentication, concurrency, limits, availability
    "bad_request": E("请求有误"),
    "conflict": E(
        "业务冲突", "该变更与当前数据冲突，请重新读取", "the change conflicts with the current data; read it again"
    ),
    "unauthorized": E("需要身份认证"),
    "missing_token": E("缺少访问令牌", "请在请求头中发送 Authorization: Bearer <令牌>"),
    "invalid_token": E("访问令牌无效", "访问令牌无效（签名、格式、角色或区划不被接受）"),
    "token_expired": E("访问令牌已过期", "访问令牌已过期，请重新获取"),
    "invalid_audience": E(
        "访问令牌的受众不被接受", "访问令牌的受众（aud）不被本服务接受", "token audience is not accepted"
    ),
    "invalid_issuer": E(
        "访问令牌的签发方不被接受", "访问令牌的签发方（iss）不被本服务接受", "token issuer is not accepted"
    ),
    "forbidden": E("无权执行此操作"),
    "role_not_allowed": E(
        "当前角色无权执行此操作", "此操作需要以下角色之一：{roles}", "this action needs one of the roles: {roles}"
    ),
    "wrong_department": E(
        "令牌所属部门与请求不符",
        "该令牌报送 {mine} 的数据，不是 {department}",
        "this token feeds {mine}, not {department}",
    ),
    "out_of_scope": E(
        "超出管辖区域",
        "{what}不在您的管辖区域内",
        ("{what} is outside your region", "{what} is outside yours", "no {what} in your region"),
    ),
    "not_found": E("未找到", "您的管辖区域内没有该{what}", "no such {what} in your region"),
    "method_not_allowed": E("不支持该请求方法"),
    "version_conflict": E(
        "资源已被他人修改",
        "当前版本为 {current}，不是 {sent}：请重新读取",
        "the {what} is at version {current}, not {sent}: read it again",
    ),
    "if_match_required": E(
        "缺少 If-Match 请求头",
        "修改前请在 If-Match 中带上当前 ETag（版本号）",
        "send If-Match with the {what}'s current ETag (version) to change it",
    ),
    "invalid_if_match": E("If-Match 请求头无效", '若带 If-Match，须为本接口签发的 ETag，例如 "3"'),
    "idempotency_key_reused": E("幂等键已用于另一请求", "同一 Idempotency-Key 已用于内容不同的请求"),
    "invalid_idempotency_key": E(
        "幂等键无效", "Idempotency-Key 须为 1–200 个可打印字符", "Idempotency-Key must be 1–200 printable characters"
    ),
    "payload_too_large": E(
        "请求体过大",
        "请求体最多 {limit} 字节",
        (
            "the request body may have at most {limit} bytes",
            "the file is larger than {limit} bytes",
            "at most {limit} bytes",
            "a feed batch may have at most {limit} bytes",
        ),
    ),
    "header_too_large": E(
        "请求头过大",
        "请求行和请求头最多 {limit} 字节",
        "the request line and headers may have at most {limit} bytes",
    ),
    "validation_failed": E("请求内容不合法"),
    "invalid_cursor": E("分页游标无效", "分页游标无效：请使用上一页返回的 next_cursor"),
    "internal_error": E("内部错误", "发生意外错误。报告问题时请提供请求编号（request_id）。"),
    "database_unavailable": E("数据库不可用", "暂时无法连接数据库，请按 Retry-After 指定的秒数后重试。"),
    "migrations_pending": E(
        "数据库迁移未完成",
        "数据库处于迁移版本 {current}，代码需要 {expected}",
        "database at {current}, code expects {expected}",
    ),
    "dependency_unavailable": E("依赖的服务不可用"),
    "registry_unavailable": E("建档立卡服务不可用", "建档立卡（registry）服务暂时无法访问，请稍后重试"),
    "screening_unavailable": E("监测服务不可用", "防返贫监测（screening）服务暂时无法访问，请稍后重试"),
    "claims_unavailable": E("保险服务不可用", "防贫保险（claims）服务暂时无法访问，请稍后重试"),
    "pii_not_configured": E(
        "未配置个人信息密钥",
        "未配置个人信息密钥（FANGPIN_PII_KEY、FANGPIN_PII_INDEX_KEY）",
        "personal-data keys are not configured (FANGPIN_PII_KEY, FANGPIN_PII_INDEX_KEY)",
    ),
    "purpose_required": E("需要说明查看目的", "查看完整个人信息须填写用途（purpose），并将记入审计日志"),
    "unsupported_format": E(
        "不支持的格式",
        "请说明格式：Content-Type 为 text/csv 或 application/x-ndjson，或 ?format=csv|jsonl",
        "say the format: Content-Type text/csv or application/x-ndjson, or ?format=csv|jsonl",
    ),
    "invalid_upload": E("上传内容无效", "请在表单字段 file 中上传文件", "send the file in the form field `file`"),
    "invalid_file": E("文件无效", "回盘文件须为 UTF-8 编码的 CSV", "the confirmation file must be UTF-8 CSV"),
    "empty_file": E("文件为空", "文件为空"),
    "too_many_rows": E("行数过多"),
    "missing_column": E("缺少列"),
    "invalid_line": E("行内容无效"),
    "invalid_template": E(
        "模板无效",
        "CSV 须有包含 code（区划代码）和 name（名称）列的表头",
        "the CSV needs a header with columns code (区划代码) and name (名称)",
    ),
    "invalid_money": E("金额无效"),
    "invalid_period": E("期间无效"),
    "invalid_code": E("代码无效"),
    "invalid_character": E("含有不允许的字符"),
    "unknown_action": E("未知操作", "没有此操作：{action}", ("no such action: {action}", "no action {action}")),
    "no_change": E("没有变化", "内容与当前版本相同，没有变化"),
    # registry (建档立卡)
    "household_not_found": E("未找到该户", "您的管辖区域内没有该户"),
    "member_not_found": E("未找到该成员", "没有此成员", "no such member"),
    "member_not_in_household": E("该成员不属于此户", "该成员不属于此户", "the member is not in this household"),
    "membership_ended": E("成员关系已结束", "该成员关系已经结束"),
    "household_archived": E("该户已注销", "该户已注销，不能再变更"),
    "household_number_taken": E(
        "户编号已被使用", "该户编号在本县已被登记", "the household number is already registered in the county"
    ),
    "household_monitored": E(
        "该户处于监测中",
        "该户处于监测中，户类型须通过 /monitoring-status 变更",
        "the household is monitored; its status changes through /monitoring-status",
    ),
    "person_in_other_household": E("此人已在另一户中", "此人已是另一户的在册成员"),
    "person_already_member": E(
        "此人已是本户成员", "此人已是本户的在册成员", "this person is already an active member of the household"
    ),
    "duplicate_national_id": E("身份证号重复", "同一身份证号在请求中出现多次"),
    "invalid_national_id": E("身份证号无效"),
    "head_exists": E(
        "本户已有户主",
        "本户已有户主；请通过修改户信息的 head_member_id 变更户主",
        "the household already has a head (户主); change it with PATCH head_member_id",
    ),
    "head_via_household": E(
        "户主须通过户信息变更",
        "户主须通过修改户信息（PATCH 农户的 head_member_id）变更",
        "the head (户主) changes with PATCH /v1/households/{id} head_member_id",
    ),
    "invalid_head": E("户主无效", "每户须有且仅有一名户主"),
    "county_change_not_allowed": E(
        "不能变更所属县区",
        "农户只能在本县内迁移（户编号在县内唯一）",
        "a household moves only within its county (the household number is unique per county)",
    ),
    "region_not_found": E("未找到该区划", "没有此区划"),
    "invalid_region_code": E(
        "区划代码无效",
        "请只给出县（6 位）、乡镇（9 位）或村（12 位）代码中的一个",
        (
            "give exactly one of county, township or village",
            "give one of county (6 digits), township (9) or village (12)",
        ),
    ),
    "unknown_village": E("未知的村"),
    # import rows that name the village (村名称, 乡镇名称) instead of giving its code (issue 12)
    "village_not_found": E("未找到该村", "您的辖区内没有叫这个名字的村，请核对村名称和乡镇名称，或填写村代码"),
    "village_ambiguous": E("村名重复", "您的辖区内有多个同名的村，请填写乡镇名称或村代码"),
    "cadre_not_found": E(
        "未找到该帮扶责任人",
        "该户没有此帮扶责任人记录",
        "no such responsible cadre assignment for this household",
    ),
    "cadre_assignment_overlap": E(
        "帮扶时间重叠",
        "该帮扶责任人在重叠的时间段内已被指定帮扶此户",
        "this cadre is already assigned to the household for overlapping dates",
    ),
    "cadre_assignment_ended": E("帮扶已结束", "该帮扶责任人的帮扶已经结束", "the assignment has already ended"),
    "unknown_grid": E("未知的网格", "该户所在村没有此网格，请先导入县里的区划和网格名单"),
    "lifted_out_year_not_allowed": E(
        "脱贫年度只适用于脱贫户",
        "脱贫年度（lifted_out_year）只为脱贫户记录",
        "lifted_out_year (脱贫年度) is recorded only for lifted_out households",
    ),
    "household_not_monitored": E("该户不是监测对象", "风险类型只适用于监测对象"),
    "benefit_reference_conflict": E(
        "补助记录编号冲突",
        "该来源编号已按不同信息记录过",
        "this source reference was already recorded with different details",
    ),
    "no_bank_account": E("未登记银行账户", "该户没有登记银行账户"),
    "bank_account_missing": E("缺少银行账户", "部分农户未登记银行账户", "some households have no bank account on file"),
    "bank_details_incomplete": E("银行账户信息不全", "支付批次中有户缺少户名或开户行，请在户籍系统补全后重新创建批次"),
    "missing_name": E("缺少姓名"),
    "import_not_found": E("未找到导入任务", "没有此导入任务", "no such import job"),
    "export_not_found": E("未找到导出任务", "没有此导出任务", "no such export job"),
    "export_not_available": E(
        "导出文件不可用",
        "导出文件不可用（尚未完成、已失败或已过期）",
        "the export file is not available (not ready, failed or expired)",
    ),
    # screening (防返贫监测)
    "case_already_open": E("该户已有未结案件", "该户已有一个进行中的监测案件"),
    "case_not_monitored": E(
        "案件未确认为监测对象",
        "帮扶措施只属于已确认的监测案件；该案件当前状态为 {state}",
        "measures belong to confirmed cases; this case is {state}",
    ),
    # assistance, visits, attachments (issue 13)
    "invalid_measure_details": E(
        "帮扶措施信息不符合该类型要求",
        "{measure_type} 类帮扶措施的信息不符合该类型的要求",
        "the details of a {measure_type} measure are not valid",
    ),
    "measure_not_found": E("未找到帮扶措施"),
    "measure_status_refused": E(
        "帮扶措施状态不能这样变更",
        "帮扶措施不能从 {current} 变为 {wanted}",
        "a {current} measure cannot become {wanted}",
    ),
    "measure_pays_no_income": E(
        "该类帮扶措施不发放资金，不计入收入",
        "{measure_type} 类帮扶措施用于消除风险，不发放资金",
        "a {measure_type} measure resolves a risk and pays no income",
    ),
    "measure_cancelled": E("帮扶措施已取消"),
    "payment_period_taken": E(
        "该月已发放，请先冲正再更正",
        "该措施 {period} 已发放；如需更正，请先冲正该笔",
        "the measure was already paid for {period}; reverse that payment to correct it",
    ),
    "payment_is_reversal": E("冲正记录不能再冲正"),
    "assistance_payment_conflict": E("该笔帮扶资金已按其他信息记录"),
    "assistance_payment_unknown": E("户籍系统没有这笔帮扶资金"),
    # 公益岗 public-welfare posts (issue 13)
    "public_post_not_found": E("未找到公益岗", "您的辖区内没有此公益岗", "no such public-welfare post in your region"),
    "post_assignment_not_found": E(
        "未找到上岗记录", "您的辖区内没有此上岗记录", "no such post assignment in your region"
    ),
    "household_outside_post_region": E("该户不在公益岗所属区划内", "该户不在此公益岗所属的区划内"),
    "public_post_closed": E("公益岗已关闭"),
    "capacity_below_occupied": E(
        "岗位数不能少于在岗人数",
        "岗位数不能少于在岗人数",
        "the capacity cannot fall below the members on the post",
    ),
    "member_already_assigned": E("该成员已在岗", "该成员已在一个公益岗上岗", "the member already holds a post"),
    "public_post_full": E("公益岗已满员", "该公益岗的岗位数已满", "every place of the post is taken"),
    "attendance_after_end": E("离岗日期之后已有考勤", "离岗日期之后的月份已有考勤记录"),
    "period_outside_assignment": E(
        "该月不在上岗期间", "上岗期间不包括 {period}", "the assignment does not cover {period}"
    ),
    "attendance_paid": E(
        "该月工资已发放，请先冲正再更正考勤",
        "{period} 的工资已发放；如需更正考勤，请先冲正该笔",
        "the wage of {period} is paid; reverse that payment to correct the month",
    ),
    "attendance_missing": E("该月没有考勤记录", "{period} 没有考勤记录", "no attendance is recorded for {period}"),
    "wage_not_payable": E(
        "该月没有应发工资",
        "{period} 没有应发工资（{reason}）",
        "no wage is payable for {period} ({reason})",
    ),
    # 兜底保障 (issue 13)
    "care_subject_not_found": E("未找到兜底对象", "您的辖区内没有此兜底对象", "no such care subject in your region"),
    "care_institution_not_found": E(
        "未找到供养/救治机构", "您的辖区内没有此机构", "no such care institution in your region"
    ),
    "care_group_not_met": E(
        "户籍信息不符合该兜底类别", "户籍信息不符合该兜底类别", "the register does not put the member in that group"
    ),
    "care_subject_exists": E("该成员已是兜底对象", "该成员已是兜底对象", "the member is already a care subject"),
    "care_already_placed": E("该兜底对象已安置", "该兜底对象已安置", "the subject is already placed"),
    "institution_kind_mismatch": E("机构类型与安置方式不符", "集中供养需为供养机构，集中救治需为医院"),
    "carer_ratio_exceeded": E(
        "供养机构护理人员不足",
        "安置后每名护理人员照料将超过 5 人",
        "the care home would have more than 5 residents per carer",
    ),
    "guardian_agreement_required": E("分散托养需有监护人和已签订的托养协议"),
    "visit_not_home_placement": E(
        "只有分散托养需要每月回访", "只有分散托养需要每月回访", "monthly visits are for home placements"
    ),
    "visit_not_found": E("未找到走访记录"),
    # 两类户动态调整 (issue 13)
    "invalid_month": E(
        "月份无效", "月份须为 YYYY-MM（01–12），而不是 {value}", "month must be YYYY-MM (01-12), not {value}"
    ),
    "invalid_village": E("村代码无效", "村代码须为 12 位数字", "village must be a 12-digit village code"),
    "adjustment_month_open": E(
        "该月尚未结束，不能上报动态调整名单",
        "{month} 的名单自 {day} 起可以上报",
        "the list of {month} can be submitted from {day}",
    ),
    "adjustment_already_submitted": E(
        "动态调整名单已上报，等待乡镇审核",
        "{month} 的动态调整名单等待乡镇审核",
        "the adjustment list of {month} waits for the township",
    ),
    "adjustment_already_approved": E(
        "动态调整名单已审核通过", "{month} 的动态调整名单已审核通过", "the adjustment list of {month} is approved"
    ),
    "adjustment_not_submitted": E(
        "动态调整名单尚未上报", "{month} 的动态调整名单尚未上报", "the adjustment list of {month} is not submitted"
    ),
    "attachment_not_found": E("未找到附件"),
    "too_many_attachments": E(
        "附件数量已达上限", "每次走访最多保存 {count} 张照片", "a visit keeps at most {count} photos"
    ),
    "unsupported_media_type": E("不支持的文件类型", "文件内容不是可接受的类型"),
    "lead_not_open": E("线索不是待处理状态", "该线索状态为 {state}", "this lead is {state}"),
    "lead_superseded": E(
        "线索已被新的线索取代",
        "该线索所在的筛查已被本期更新的一次筛查取代，请打开新的线索",
        "this lead's run was superseded by a newer run of the period; open the new lead",
    ),
    "source_required": E(
        "需要说明案件来源",
        "每个取值都须注明来源；请为设置或修改的每个值填写来源",
        "every value needs a source note (来源); give one for each value you set or change",
    ),
    "evidence_required": E(
        "缺少必要的证据材料", "{action} 缺少所需材料，详见 errors", "{action} is missing what it needs; see errors"
    ),
    "invalid_evidence": E(
        "证据材料无效",
        "objection_count {given} 与已登记的 {recorded} 条异议不符",
        "objection_count {given} differs from the {recorded} objection(s) recorded",
    ),
    "missing_evidence": E("缺少证据材料", "缺少证据材料：{fields}", "missing evidence: {fields}"),
    "notice_not_elapsed": E("公示期未满"),
    "notice_not_open": E(
        "公示未在进行中",
        "公示期自 {start} 起共 {days} 天，异议须在公示期内提出",
        "the notice runs from {start} for {days} days",
    ),
    "objection_pending": E("有未处理的异议", "此事项有尚未决定的异议"),
    "objections_unresolved": E(
        "仍有未解决的异议", "公示还有 {count} 条异议尚未处理", "{count} objection(s) to the notice are not resolved yet"
    ),
    "elimination_blocked": E("不能标注风险消除"),
    "wrong_role": E(
        "当前角色不能执行此步骤", "该令牌没有监测工作流程中的角色", "this token holds no role of the case workflow"
    ),
    "wrong_order": E("步骤顺序不对"),
    "run_in_progress": E("监测运行正在进行", "该次运行正由另一进程执行"),
    "unknown_department": E("未知的部门"),
    "unknown_household": E("未知的户", "户籍系统中没有该户", "the registry does not know this household"),
    "invalid_batch": E(
        "数据批次无效", "批次中有无法支付的理赔，详见 errors", "the batch lists claims it cannot pay; see errors"
    ),
    "invalid_county": E("县区代码无效", "--county 须为 6 位县区代码"),
    "invalid_thresholds": E("阈值无效"),
    "threshold_version_in_use": E(
        "阈值版本已被使用",
        "第 {version} 版已被筛查或案件使用，予以保留",
        "version {version} was used by a screening run or a case and is kept",
    ),
    "household_facts_unusable": E(
        "户信息不可用于计算", "该理赔所存的户信息无法用于核算", "the household facts on this claim cannot be assessed"
    ),
    # claims (防贫保险)
    "claim_not_found": E("未找到该理赔", "没有理赔 {id}", "no claim {id}"),
    "claim_not_payable": E(
        "该理赔不可支付",
        "只有已批准的理赔（或支付失败的）才能支付",
        "only approved claims (or failed payments) can be paid",
    ),
    "assessment_not_found": E("未找到核算结果", "该理赔没有有效的核算结果"),
    "notice_not_found": E("未找到该公示", "没有公示 {id}", "no notice {id}"),
    "notice_window_open": E(
        "公示期尚未结束",
        "公示期至 {last_day} 结束；公示期满后方可批准",
        "the notice runs until {last_day}; approval comes after the window",
    ),
    "notice_window_closed": E(
        "公示期已结束", "公示期为 {start} 至 {end}，已结束", "the notice window was {start} to {end}"
    ),
    "nothing_to_publish": E("没有可公示的理赔", "本村没有等待公示的已核算理赔"),
    "not_on_notice": E("该理赔不在此公示中", "该理赔不在此公示中"),
    "not_in_notice": E("该理赔未列入任何公示", "该理赔未列入任何公示"),
    "objection_not_found": E("未找到该异议", "本公示没有异议 {objection}", "no objection {objection} on this notice"),
    "objection_decided": E("异议已处理", "该异议已经是 {status}", "the objection was already {status}"),
    "objection_resolved": E("异议已解决", "该异议已经是 {status}", "the objection was already {status}"),
    "batch_not_found": E("未找到支付批次", "没有支付批次 {id}", "no payment batch {id}"),
    "batch_totals_mismatch": E("批次合计不符", "申报的笔数或金额合计与批次不一致"),
    "payment_not_found": E("未找到该支付", "没有支付 {id}", "no payment {id}"),
    "payment_not_in_batch": E("该支付不在此批次中", "该支付不在（或已不在）此批次中"),
    "payment_exists": E("该理赔已有支付", "该理赔已有支付记录", "this claim already has its payment"),
    "payment_already_paid": E("该支付已到账"),
    "invalid_confirmation": E("到账确认无效", "到账确认信息不完整", "the confirmation is incomplete"),
    "same_event": E(
        "同一事件已报案",
        "该事件已有理赔（同一人、同一类别、同一出险日期）",
        "a claim for this event exists (same person, category and incident date)",
    ),
    "scheme_not_found": E("未找到保险方案", "没有方案 {code}", "no scheme {code}"),
    "scheme_exists": E(
        "保险方案已存在",
        "方案 {code} 已存在；用 PUT 修改该方案会生成新版本",
        "scheme {code} exists; PUT /v1/schemes/{path} makes a new version",
    ),
    "scheme_in_use": E("保险方案已被使用", "已被核算使用的方案不能改回草稿"),
    "scheme_year_taken": E(
        "该年度已有保险方案",
        "本县本年度已有生效的保险方案（可将本方案设为草稿）",
        (
            "another scheme is already in force for this county and year (make this one a draft)",
            "another scheme is already in force for this county and year",
        ),
    ),
    "invalid_scheme": E("保险方案无效", "保险方案无效，详见 errors", "the scheme is not valid; see errors"),
    "no_active_scheme": E(
        "没有生效的保险方案",
        "县区 {county} 在 {year} 年没有生效的方案",
        "no scheme is in force for county {county} in {year}",
    ),
    "not_latest_version": E("不是最新版本", "只能撤回最新版本"),
    "invalid_facts": E("理赔事实无效", "理赔事实无效，详见 errors", "the claim's facts are not valid; see errors"),
    "invalid_enrolment": E("参保登记无效", "参保登记无效，详见 errors", "the enrolment is not valid; see errors"),
    "not_computable": E("无法精确计算", "无法精确计算：{reason}", "the figures cannot be computed exactly: {reason}"),
    "simulation_not_found": E("未找到测算任务", "没有测算任务 {job}", "no simulation {job}"),
}

# Field messages by pydantic error `type` or the project's own field `code`; placeholders come from
# pydantic's `ctx`, or from the English message through `en`.
FIELD_MESSAGES: dict[str, Entry] = {
    "missing": E("必填字段缺失"),
    "extra_forbidden": E("不允许的字段"),
    "json_invalid": E("JSON 格式错误"),
    "json_type": E("应为 JSON"),
    "string_type": E("应为字符串"),
    "string_too_short": E("至少 {min_length} 个字符"),
    "string_too_long": E("最多 {max_length} 个字符", en=("at most {max_length} characters",)),
    "string_pattern_mismatch": E("格式不符合要求（应匹配 {pattern}）"),
    "int_type": E("应为整数"),
    "int_parsing": E("应为整数"),
    "int_from_float": E("应为整数"),
    "float_type": E("应为数字"),
    "float_parsing": E("应为数字"),
    "finite_number": E("应为有限数字"),
    "decimal_type": E("应为数值"),
    "decimal_parsing": E("应为数值"),
    "decimal_max_digits": E("最多 {max_digits} 位数字"),
    "decimal_max_places": E("小数最多 {decimal_places} 位"),
    "decimal_whole_digits": E("整数部分最多 {whole_digits} 位"),
    "bool_type": E("应为布尔值（true 或 false）"),
    "bool_parsing": E("应为布尔值（true 或 false）"),
    "date_type": E("应为日期（YYYY-MM-DD）"),
    "date_parsing": E("应为日期（YYYY-MM-DD）"),
    "date_from_datetime_parsing": E("应为日期（YYYY-MM-DD）"),
    "date_from_datetime_inexact": E("应为日期，不含时间"),
    "datetime_type": E("应为日期时间（ISO 8601）"),
    "datetime_parsing": E("应为日期时间（ISO 8601）"),
    "datetime_from_date_parsing": E("应为日期时间（ISO 8601）"),
    "timezone_aware": E("日期时间须带时区"),
    "uuid_type": E("应为 UUID"),
    "uuid_parsing": E("应为 UUID"),
    "enum": E("应为以下之一：{expected}"),
    "literal_error": E("应为以下之一：{expected}"),
    "greater_than": E("应大于 {gt}"),
    "greater_than_equal": E("应大于或等于 {ge}"),
    "less_than": E("应小于 {lt}"),
    "less_than_equal": E("应小于或等于 {le}"),
    "multiple_of": E("应为 {multiple_of} 的倍数"),
    "too_short": E("至少 {min_length} 项"),
    "too_long": E("最多 {max_length} 项"),
    "list_type": E("应为数组"),
    "dict_type": E("应为 JSON 对象"),
    "model_type": E("应为 JSON 对象"),
    "model_attributes_type": E("应为 JSON 对象"),
    "union_tag_invalid": E("类型标识 {tag} 无效，应为 {expected_tags}"),
    "union_tag_not_found": E("缺少类型标识字段 {discriminator}"),
    "url_parsing": E("应为网址"),
    # the project's own
    "invalid_character": E(
        "含有不允许的字符（U+{codepoint}，位置 {position}）",
        en=("contains {what}: U+{codepoint} at position {position}",),
    ),
    "too_deep": E("嵌套超过 {depth} 层"),
    "invalid_money": E(
        "金额应为形如 '1234.56' 的十进制字符串（无指数、最多两位小数、小于 10^12）",
        en=(
            "must be a decimal string like '1234.56' (no exponent, at most 2 decimal places, below 10^12)",
            "must be a decimal string like '1234.56', not a JSON {kind}",
        ),
    ),
    "invalid_check_digit": E("身份证号校验码（最后一位）不符"),
    "birth_date_mismatch": E("出生日期与身份证号中的不一致"),
    "sex_mismatch": E("性别与身份证号（第 17 位）不一致"),
    "invalid_birth_date": E("身份证号中的出生日期不合理"),
    "invalid_format": E("身份证号为 17 位数字加一位数字或 X，共 18 位"),
    "cannot_be_null": E("不能为空（null）"),
}

_NEGATIVE_MONEY = "must not be negative"


def _pattern(template: str) -> re.Pattern[str]:
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P<{name}>.+?)")
    return re.compile("".join(parts) + r"\Z", re.S)


@lru_cache(maxsize=512)
def _compiled(template: str) -> re.Pattern[str]:
    return _pattern(template)


def _fill(entry_text: str, english: str | None, en: str | tuple[str, ...] | None, ctx: Mapping[str, Any]) -> str | None:
    """The Chinese text with its placeholders filled, or None when they cannot be."""
    names = {name for _, name, _, _ in string.Formatter().parse(entry_text) if name}
    if not names:
        if en is not None and english is not None and not any(_compiled(p).match(english) for p in _as_tuple(en)):
            return None  # a fixed text for one English sentence, and this is another one
        return entry_text
    values: dict[str, Any] = {k: _shown(v) for k, v in ctx.items()}
    if not names <= values.keys() and english is not None:
        for pattern in _as_tuple(en):
            match = _compiled(pattern).match(english)
            if match:
                values.update({k: v.strip("'\"") for k, v in match.groupdict().items()})
                break
    if not names <= values.keys():
        return None
    return entry_text.format(**values)


def _as_tuple(en: str | tuple[str, ...] | None) -> tuple[str, ...]:
    return () if en is None else (en,) if isinstance(en, str) else en


def _shown(value: Any) -> str:
    return str(value).strip("'\"") if not isinstance(value, list | tuple) else "、".join(map(str, value))


def field_message(kind: str | None, message: str, ctx: Mapping[str, Any] | None = None, lang: str = "zh") -> str:
    """A field error's message in `lang` (the English one when there is no entry or no values)."""
    if lang != "zh" or not kind:
        return message
    if kind == "invalid_money" and message == _NEGATIVE_MONEY:
        return "金额不能为负数"
    entry = FIELD_MESSAGES.get(kind)
    if entry is None:
        return message
    return _fill(entry.title, message, entry.en, ctx or {}) or message


def localize(problem: Problem, lang: str | None = None, contexts: Sequence[Mapping[str, Any] | None] = ()) -> Problem:
    """`problem` in `lang` (default: the current request's). English: returned unchanged.

    `contexts`, parallel to `problem.errors`, are pydantic's `ctx` of each field error (validation)."""
    lang = lang or current_language()
    if lang != "zh":
        return problem
    entry = CATALOGUE.get(problem.code)
    title = entry.title if entry else GENERIC_TITLES.get(problem.status, problem.title)
    errors = problem.errors
    detail = problem.detail
    if errors:
        joined = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        translated = [
            FieldError(
                field=e.field,
                message=field_message(e.code, e.message, contexts[i] if i < len(contexts) else None),
                code=e.code,
            )
            for i, e in enumerate(errors)
        ]
        if detail == joined:
            detail = "；".join(f"{e.field}：{e.message}" for e in translated[:5])
            entry = None  # the detail is the field list, now in Chinese
        errors = translated
    if entry is not None and entry.detail is not None:
        detail = _fill(entry.detail, detail, entry.en, {}) or detail
    return problem.model_copy(update={"title": title, "detail": detail, "errors": errors})


def missing_codes(codes: Sequence[str]) -> list[str]:
    """The codes among `codes` that have no Chinese entry (the catalogue test lists them)."""
    return sorted({c for c in codes if c not in CATALOGUE and c not in FIELD_MESSAGES})
