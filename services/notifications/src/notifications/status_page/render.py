"""Server-rendered, mobile-first HTML of the status page (Chinese by default; everything escaped)."""

from __future__ import annotations

from html import escape
from typing import Any

from ..clients.dispatch import Slot
from ..domain.policy import SHANGHAI
from ..domain.ticket_view import LABELS, ORDER, window_text

CSS = """
*{box-sizing:border-box}body{margin:0;font-family:-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",
sans-serif;background:#f4f6f8;color:#1f2933}header{background:#0b6bcb;color:#fff;padding:16px}
h1{font-size:18px;margin:0}main{padding:12px;max-width:480px;margin:auto}.card{background:#fff;border-radius:10px;
padding:14px;margin-bottom:12px;box-shadow:0 1px 2px rgba(0,0,0,.06)}.row{display:flex;justify-content:space-between;
padding:6px 0;border-bottom:1px solid #eef1f4}.row:last-child{border:0}.k{color:#6b7785}.steps{list-style:none;
padding:0;margin:0}.steps li{padding:6px 0 6px 22px;position:relative;color:#9aa5b1}.steps li:before{content:"";
position:absolute;left:4px;top:12px;width:9px;height:9px;border-radius:50%;background:#cbd2d9}
.steps li.done{color:#1f2933}
.steps li.done:before{background:#0b6bcb}.stars{display:flex;gap:6px}.stars button{flex:1;font-size:18px;padding:10px 0;
border:1px solid #0b6bcb;border-radius:8px;background:#fff;color:#0b6bcb}.note{color:#6b7785;font-size:13px}
.slot{display:block;padding:10px;border:1px solid #cbd2d9;border-radius:8px;margin:6px 0}.go{width:100%;
padding:12px;font-size:16px;border:0;border-radius:8px;background:#0b6bcb;color:#fff;margin-top:6px}
.ok{color:#0a7d32}
"""

STEPS = ("received", "assigned", "en_route", "arrived", "completed")


def page(title: str, inner: str, *, lang: str = "zh-CN") -> str:
    return (f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<meta name="robots" content="noindex"><title>{escape(title)}</title><style>{CSS}</style></head>'
            f'<body><header><h1>{escape(title)}</h1></header><main>{inner}</main></body></html>')


def status_page(v: dict[str, Any], *, token: str, thanks: bool = False, slots: list[Slot] | None = None,
                rescheduled: bool = False) -> str:
    labels = LABELS["zh-CN"]
    status = v.get("status") or "received"
    reached = ORDER.index(status) if status in ORDER else 0
    steps = "".join(
        f'<li class="{"done" if ORDER.index(s) <= reached and status != "cancelled" else ""}">{escape(labels[s])}</li>'
        for s in STEPS)
    window = window_text(v.get("window_start"), v.get("window_end"), SHANGHAI) or "待安排"
    engineer = v.get("engineer_name") or (f"工号 {v['engineer_id']}" if v.get("engineer_id") else "待指派")
    rows = [("工单号", v.get("ticket_no") or "—"), ("当前状态", labels.get(status, status)), ("工程师", engineer),
            ("预计上门", window), ("联系人", v.get("customer_name_masked") or "—"),
            ("服务地址", v.get("address_masked") or "—")]
    info = "".join(f'<div class="row"><span class="k">{escape(k)}</span><span>{escape(str(val))}</span></div>'
                   for k, val in rows)
    if v.get("rating"):
        rate = f'<p id="rated">感谢您的评价：{int(v["rating"])} 分。</p>' if not thanks else \
            f'<p id="rated">评价已提交（{int(v["rating"])} 分），感谢您的反馈！</p>'
    elif status in ("completed", "closed"):
        buttons = "".join(f'<button type="submit" name="rating" value="{n}">{n}</button>' for n in range(1, 6))
        rate = (f'<form method="post" action="/s/{escape(token)}/rating" id="rate">'
                f'<p>请为本次服务评分（5 为非常满意）</p><div class="stars">{buttons}</div></form>')
    else:
        rate = '<p class="note">维修完成后可在此评价本次服务。</p>'
    resched = _reschedule(token, window, slots, rescheduled)
    inner = (f'<section class="card"><ol class="steps">{steps}</ol></section><section class="card">{info}</section>'
             f'<section class="card" id="rating">{rate}</section><section class="card">{resched}</section>')
    return page("服务进度", inner)


def _reschedule(token: str, window: str, slots: list[Slot] | None, rescheduled: bool) -> str:
    done = f'<p id="rescheduled" class="ok">改约成功，新的上门时间：{escape(window)}</p>' if rescheduled else ""
    if slots is None:
        return done + '<p class="note">如需改约上门时间，请致电客服热线。</p>'
    if not slots:
        return done + '<p class="note">暂无其他可选时段，如需改约请致电客服热线。</p>'
    options = "".join(
        f'<label class="slot"><input type="radio" name="slot" required '
        f'value="{escape(s.start.isoformat())}|{escape(s.end.isoformat())}"> '
        f'{escape(s.label or window_text(s.start, s.end, SHANGHAI) or "")}</label>' for s in slots)
    return (done + f'<form method="post" action="/s/{escape(token)}/reschedule" id="reschedule">'
            f'<p>改约上门时间（可选时段）</p>{options}<button class="go" type="submit">确认改约</button></form>')


def reschedule_refused(code: str, *, token: str) -> str:
    text = {"slot_not_offered": "该时段已不可选，请返回重新选择。",
            "not_reschedulable": "工程师已出发，无法在线改约，请致电客服热线。",
            "dispatch_unavailable": "暂时无法改约，请稍后再试或致电客服热线。"}.get(code, "请选择一个可选时段。")
    return page("改约未成功", f'<section class="card"><p id="refused">{escape(text)}</p>'
                         f'<p><a href="/s/{escape(token)}">返回服务进度</a></p></section>')


def refused_page(reason: str) -> str:
    text = "链接已过期，请联系客服获取新的链接。" if reason == "link_expired" else "链接无效，请核对短信中的链接。"
    return page("链接无效", f'<section class="card"><p id="refused">{escape(text)}</p></section>')
