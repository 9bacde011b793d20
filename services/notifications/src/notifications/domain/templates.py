"""Message templates per kind and locale (zh-CN first, en), with named variables.

A template is data: ``TEMPLATES[(kind, locale)] = (subject, body)``; bodies use ``{name}`` placeholders.
``SMS_TEMPLATE_CODES`` names the template registered with the SMS provider for each kind (Aliyun requires
pre-approved templates; the provider receives the code plus the variables, never free text).
"""

from __future__ import annotations

import string
from typing import Any

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")

TEMPLATES: dict[tuple[str, str], tuple[str, str]] = {
    ("ticket_received", "zh-CN"): (
        "报修已受理：{ticket_no}",
        "您好，您的报修已受理，工单号 {ticket_no}。我们将尽快安排工程师联系您。查看进度：{link}"),
    ("ticket_received", "en"): (
        "Service request received: {ticket_no}",
        "Your service request {ticket_no} has been received. An engineer will contact you soon. "
        "Status: {link}"),
    ("engineer_assigned", "zh-CN"): (
        "工程师已指派：{ticket_no}",
        "工单 {ticket_no} 已指派工程师 {engineer_name}，预计上门时间 {window}。查看进度：{link}"),
    ("engineer_assigned", "en"): (
        "Engineer assigned: {ticket_no}",
        "Engineer {engineer_name} will visit for {ticket_no}, planned arrival {window}. Status: {link}"),
    ("engineer_en_route", "zh-CN"): (
        "工程师已出发：{ticket_no}",
        "工程师 {engineer_name} 已出发前往您处（工单 {ticket_no}），请保持电话畅通。{link}"),
    ("engineer_en_route", "en"): (
        "Engineer on the way: {ticket_no}",
        "Engineer {engineer_name} is on the way ({ticket_no}). Please keep your phone at hand. {link}"),
    ("engineer_arrived", "zh-CN"): (
        "工程师已到达：{ticket_no}",
        "工程师 {engineer_name} 已到达（工单 {ticket_no}）。"),
    ("engineer_arrived", "en"): (
        "Engineer arrived: {ticket_no}",
        "Engineer {engineer_name} has arrived ({ticket_no})."),
    ("job_completed", "zh-CN"): (
        "维修已完成：{ticket_no}",
        "工单 {ticket_no} 维修已完成。请回复数字 1-5 为本次服务评分（5 为非常满意），或点击 {link} 评价。"
        "回复TD退订"),
    ("job_completed", "en"): (
        "Repair completed: {ticket_no}",
        "The repair for {ticket_no} is complete. Reply 1-5 to rate our service (5 = excellent) or rate at "
        "{link}. Reply TD to unsubscribe"),
    ("spare_unit_lent", "zh-CN"): (
        "备用机已借出：{ticket_no}",
        "工单 {ticket_no}：已为您提供备用机，您的设备修复后我们将上门取回备用机。"),
    ("spare_unit_lent", "en"): (
        "Spare unit lent: {ticket_no}",
        "For {ticket_no} you have a spare unit; we collect it when your own unit is back."),
    ("spare_unit_lent_due", "zh-CN"): (
        "备用机已借出：{ticket_no}",
        "工单 {ticket_no}：已为您提供备用机（序列号 {serial}），请于 {due_back} 前归还；"
        "您的设备修复后我们将上门取回。"),
    ("spare_unit_lent_due", "en"): (
        "Spare unit lent: {ticket_no}",
        "For {ticket_no} you have a spare unit (serial {serial}), due back by {due_back}; we collect it when "
        "your own unit is back."),
    ("spare_unit_due_back", "zh-CN"): (
        "备用机归还提醒：{ticket_no}",
        "工单 {ticket_no}：您借用的备用机（序列号 {serial}）已到归还时间 {due_back}，"
        "请备好备用机，我们将联系您上门取回。查看进度：{link}"),
    ("spare_unit_due_back", "en"): (
        "Spare unit due back: {ticket_no}",
        "For {ticket_no} the spare unit you borrowed (serial {serial}) was due back on {due_back}. Please have it "
        "ready; we will contact you to collect it. Status: {link}"),
    ("spare_unit_collected", "zh-CN"): (
        "备用机已取回：{ticket_no}",
        "工单 {ticket_no}：备用机已取回，感谢您的配合。"),
    ("spare_unit_collected", "en"): (
        "Spare unit collected: {ticket_no}",
        "For {ticket_no} the spare unit has been collected. Thank you."),
    ("parts_shipped", "zh-CN"): (
        "配件已发货：{request_id}",
        "您的配件申请 {request_id} 已于今日发货，承运商 {carrier}，运单号 {tracking_no}。"),
    ("parts_shipped", "en"): (
        "Parts shipped: {request_id}",
        "Parts request {request_id} shipped today with {carrier}, tracking number {tracking_no}."),
    ("parts_backordered", "zh-CN"): (
        "配件缺货：{request_id}",
        "您的配件申请 {request_id} 暂时缺货，到货后将立即发出，我们会再次通知您。"),
    ("parts_backordered", "en"): (
        "Parts backordered: {request_id}",
        "Parts request {request_id} is backordered; it ships as soon as stock arrives and we will tell you."),
    ("statement_issued", "zh-CN"): (
        "结算单已出具：{quarter}",
        "{quarter} 季度结算单（第 {revision} 版）已出具，净额 {net_amount} 元，请登录核对。"),
    ("statement_issued", "en"): (
        "Statement issued: {quarter}",
        "Your {quarter} statement (revision {revision}) is ready: net CNY {net_amount}. Please review it."),
    ("statement_approved", "zh-CN"): (
        "结算单已审批：{quarter}",
        "{quarter} 季度结算单（第 {revision} 版）已审批，净额 {net_amount} 元，付款日 {due_on}。"),
    ("statement_approved", "en"): (
        "Statement approved: {quarter}",
        "Your {quarter} statement (revision {revision}) is approved: net CNY {net_amount}, due {due_on}."),
    ("statement_paid", "zh-CN"): (
        "结算款已支付：{quarter}",
        "{quarter} 季度结算款 {net_amount} 元已支付。"),
    ("statement_paid", "en"): (
        "Statement paid: {quarter}",
        "Your {quarter} statement of CNY {net_amount} has been paid."),
    ("dispute_resolved", "zh-CN"): (
        "异议已处理：{dispute_id}",
        "您对结算单提出的异议 {dispute_id} 已处理，结果：{status}，调整金额 {adjustment} 元。"),
    ("dispute_resolved", "en"): (
        "Dispute answered: {dispute_id}",
        "Your dispute {dispute_id} has been answered: {status}, adjustment CNY {adjustment}."),
    ("eta_changed", "zh-CN"): (
        "上门时间有变：{ticket_no}",
        "工单 {ticket_no} 的工程师上门时间有调整，新的预计到达时间 {arrival}（时段 {window}）。如需改约：{link}"),
    ("eta_changed", "en"): (
        "New arrival time: {ticket_no}",
        "The engineer's arrival for {ticket_no} has moved: now planned for {arrival} (window {window}). "
        "To reschedule: {link}"),
    ("reschedule_confirmed", "zh-CN"): (
        "改约成功：{ticket_no}",
        "工单 {ticket_no} 已按您的选择改约，工程师将于 {window} 上门。查看进度：{link}"),
    ("reschedule_confirmed", "en"): (
        "Visit rescheduled: {ticket_no}",
        "As you asked, the visit for {ticket_no} is now {window}. Status: {link}"),
    ("quote_presented", "zh-CN"): (
        "维修报价：{ticket_no}",
        "工单 {ticket_no} 需付费维修，报价合计 {total} 元（共 {items} 项），有效期至 {valid_until}。"
        "查看明细：{link}"),
    ("quote_presented", "en"): (
        "Repair quote: {ticket_no}",
        "The paid repair for {ticket_no} is quoted at CNY {total} ({items} items), valid until {valid_until}. "
        "Details: {link}"),
    ("assessment_issued", "zh-CN"): (
        "月度考核结果：{month}",
        "贵单位 {month} 月度服务考核已出具：得分 {score}，等级 {grade}；回访率 {callback_rate}，"
        "一次修复率 {first_time_fix_rate}，时效达成率 {sla_met_rate}。请登录结算系统查看考核单。"),
    ("assessment_issued", "en"): (
        "Monthly assessment: {month}",
        "Your service assessment for {month} is out: score {score}, grade {grade}; callback rate "
        "{callback_rate}, first-time fix rate {first_time_fix_rate}, on-time rate {sla_met_rate}. "
        "The document is in the settlement portal."),
}

SMS_TEMPLATE_CODES: dict[str, str] = {
    "ticket_received": "SMS_AS_001", "engineer_assigned": "SMS_AS_002", "engineer_en_route": "SMS_AS_003",
    "engineer_arrived": "SMS_AS_004", "job_completed": "SMS_AS_005", "spare_unit_lent": "SMS_AS_006",
    "spare_unit_collected": "SMS_AS_007", "parts_shipped": "SMS_AS_008", "parts_backordered": "SMS_AS_009",
    "statement_issued": "SMS_AS_010", "statement_approved": "SMS_AS_011", "statement_paid": "SMS_AS_012",
    "dispute_resolved": "SMS_AS_013", "eta_changed": "SMS_AS_014", "reschedule_confirmed": "SMS_AS_015",
    "quote_presented": "SMS_AS_016", "assessment_issued": "SMS_AS_017", "spare_unit_due_back": "SMS_AS_018",
    "spare_unit_lent_due": "SMS_AS_019",
}

MISSING = "—"


class UnknownTemplate(LookupError):
    """No template for this kind (or locale)."""


def variables_of(kind: str, locale: str = DEFAULT_LOCALE) -> list[str]:
    """The variable names a template uses (subject and body)."""
    subject, body = template(kind, locale)
    names = [f for s in (subject, body) for _t, f, _s, _c in string.Formatter().parse(s) if f]
    return list(dict.fromkeys(names))


def template(kind: str, locale: str) -> tuple[str, str]:
    """The (subject, body) template; unknown locales fall back to zh-CN."""
    found = TEMPLATES.get((kind, locale)) or TEMPLATES.get((kind, DEFAULT_LOCALE))
    if found is None:
        raise UnknownTemplate(kind)
    return found


def render(kind: str, locale: str, variables: dict[str, Any]) -> tuple[str, str]:
    """Subject and body with the variables filled in; a variable nobody knows shows as a dash."""
    subject, body = template(kind, locale)
    values = {name: _text(variables.get(name)) for name in variables_of(kind, locale)}
    return subject.format(**values), body.format(**values)


def _text(value: Any) -> str:
    return MISSING if value is None or value == "" else str(value)
