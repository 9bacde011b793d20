"""The pure rules: who is told what, templates, quiet hours, backoff/failover, replies, links, the Aliyun
signature (checked against Aliyun's documented worked example and against an independent implementation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from notifications.channels import aliyun_sms
from notifications.config import AliyunSmsSettings
from notifications.domain import delivery_lifecycle, links, policy, replies, rules, templates
from notifications.domain.masking import mask_address, mask_email, mask_name, mask_phone

from .servers import aliyun_expected_signature

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def test_every_notice_kind_has_both_locales_and_an_sms_template():
    for kind in {r.kind for r in rules.NOTICES.values()}:
        assert (kind, "zh-CN") in templates.TEMPLATES and (kind, "en") in templates.TEMPLATES
        assert kind in templates.SMS_TEMPLATE_CODES
        assert set(templates.variables_of(kind, "en")) <= set(templates.variables_of(kind, "zh-CN")) | {"link"}


def test_dedup_key_is_kind_visit_recipient():
    (n,) = rules.notices_for(rules.Fact("dispatch.job.en_route", NOW, ticket_id="T1", visit=2, job_id="J"))
    assert rules.dedup_key(n) == "engineer_en_route|T1#2|customer:T1" and n.urgent
    assert rules.notices_for(rules.Fact("dispatch.job.en_route", NOW)) == []  # no ticket: nobody to tell
    (s,) = rules.notices_for(rules.Fact("settlement.statement.issued", NOW, dealer_id="D", subject_id="S",
                                        data={"revision": 2}))
    assert rules.dedup_key(s) == "statement_issued|S#2|dealer:D"
    assert rules.notices_for(rules.Fact("dispatch.job.created", NOW, ticket_id="T1")) == []


def test_render_fills_missing_with_a_dash():
    subject, body = templates.render("engineer_assigned", "zh-CN", {"ticket_no": "T9"})
    assert subject == "工程师已指派：T9" and "—" in body


@pytest.mark.parametrize("hm,hold", [
    ((20, 59), None), ((21, 0), (1, 8)), ((23, 30), (1, 8)), ((0, 10), (0, 8)), ((7, 59), (0, 8)), ((8, 0), None)])
def test_quiet_hours(hm, hold):
    day = datetime(2026, 6, 1, tzinfo=policy.SHANGHAI)
    now = day.replace(hour=hm[0], minute=hm[1])
    held = policy.quiet_until(now, channel="sms", urgent=False)
    assert held == (None if hold is None else (day + timedelta(days=hold[0])).replace(hour=hold[1]))
    assert policy.quiet_until(now, channel="sms", urgent=True) is None
    assert policy.quiet_until(now, channel="email", urgent=False) is None


@given(st.integers(min_value=0, max_value=40))
def test_backoff_is_capped_and_monotonic(n):
    p = policy.RetryPolicy(base_seconds=2, cap_seconds=300)
    assert timedelta(0) < p.backoff(n) <= timedelta(seconds=300)
    assert p.backoff(n) <= p.backoff(n + 1)


def test_retry_then_failover_then_give_up():
    p = policy.RetryPolicy(attempts_per_provider=3)
    out = policy.after_failure(policy=p, route_len=2, route_index=0, attempts=0, permanent=False, now=NOW)
    assert out.action == "retry" and out.attempts == 1
    out = policy.after_failure(policy=p, route_len=2, route_index=0, attempts=2, permanent=False, now=NOW)
    assert out.action == "failover" and out.route_index == 1 and out.attempts == 0
    out = policy.after_failure(policy=p, route_len=2, route_index=0, attempts=0, permanent=True, now=NOW)
    assert out.action == "failover"
    out = policy.after_failure(policy=p, route_len=2, route_index=1, attempts=2, permanent=False, now=NOW)
    assert out.action == "give_up"


def test_rate_limit():
    rl = policy.RateLimit(per_hour=2)
    sent = [NOW - timedelta(minutes=50), NOW - timedelta(minutes=10)]
    assert rl.next_slot(sent, NOW, urgent=False) == NOW + timedelta(minutes=10)
    assert rl.next_slot(sent[:1], NOW, urgent=False) is None
    assert rl.next_slot(sent, NOW, urgent=True) is None


def test_route_prefers_and_skips_opted_out_sms():
    providers = {"sms": ["a", "b"], "email": ["smtp"], "wechat": ["wx"]}
    r = policy.route(audience="customer", preferred=["wechat"], addresses={"sms": "138", "wechat": "o1"},
                     providers=providers, sms_opted_out=False)
    assert r == [("wechat", "wx", "o1"), ("sms", "a", "138"), ("sms", "b", "138")]
    assert policy.route(audience="customer", preferred=[], addresses={"sms": "138"}, providers=providers,
                        sms_opted_out=True) == []


def test_lifecycle_moves_are_a_table():
    assert delivery_lifecycle.move("queued", "sent") == "sent"
    assert delivery_lifecycle.move("failed", "queued") == "replayed"
    with pytest.raises(delivery_lifecycle.IllegalMove):
        delivery_lifecycle.move("sent", "queued")
    for a, b in delivery_lifecycle.MOVES:
        assert a in delivery_lifecycle.STATUSES and b in delivery_lifecycle.STATUSES


@pytest.mark.parametrize("text,kind,rating", [
    ("TD", "opt_out", None), ("td", "opt_out", None), ("退订", "opt_out", None), ("４", "rating", 4),
    ("5分，很好", "rating", 5), ("1 太差了，我要投诉", "complaint", 1), ("师傅没来", "complaint", None),
    ("谢谢", "other", None), ("6", "other", None)])
def test_reply_classification(text, kind, rating):
    r = replies.classify(text)
    assert (r.kind, r.rating) == (kind, rating)


def test_masks():
    assert mask_phone("13800138000") == "+86138****8000"  # the platform's one rule (aftersales_shared.pii)
    assert mask_email("desk@dealer.cn") == "d***@dealer.cn"
    assert mask_name("张三丰") == "张**"
    assert mask_address("上海市浦东新区世纪大道100号") == "上海市浦东新****"


@given(st.text(min_size=1, max_size=40, alphabet=st.characters(blacklist_categories=("Cs",))))
def test_links_round_trip_and_tampering(ticket_id):
    secret = b"s3cret"
    token = links.sign(ticket_id, expires_at=NOW + timedelta(days=1), secret=secret)
    assert links.verify(token, now=NOW, secret=secret) == ticket_id
    with pytest.raises(links.BadLink) as e:
        links.verify(token, now=NOW + timedelta(days=1), secret=secret)
    assert e.value.reason == "expired"
    with pytest.raises(links.BadLink):
        links.verify(token, now=NOW, secret=b"other")


def test_aliyun_signature_independent_check():
    s = AliyunSmsSettings(access_key_id="id", access_key_secret=SecretStr("k"), sign_name="售后")
    signed = aliyun_sms.signed_params(s, phone="13800138000", template_code="SMS_1", template_param={"a": "中 文*~"},
                                      out_id="9", now=NOW, nonce="n")
    assert signed["Signature"] == aliyun_expected_signature("k", "POST", signed)
    assert signed["Timestamp"] == "2026-06-01T04:00:00Z"
    assert aliyun_sms.percent_encode("a b*~/") == "a%20b%2A~%2F"


@given(st.text(min_size=1, max_size=80))
def test_any_text_as_a_link_is_refused_cleanly_never_an_error(text):
    """Found by the API fuzzer: a non-ASCII token made hmac.compare_digest raise TypeError (a 500)."""
    try:
        links.verify(text, now=NOW, secret=b"s3cret")
    except links.BadLink as e:
        assert e.reason in {"malformed", "tampered", "expired"}
    else:
        raise AssertionError("an arbitrary text is never a valid link")


def test_eta_change_needs_more_than_the_margin_and_a_reschedule_is_confirmed():
    """ETA changed by more than the configured margin (issue 17): either way; the customer's own reschedule is
    always confirmed; a first planned arrival is not a change."""
    m = timedelta(minutes=30)

    def fact(minutes, reason="replan", previous=True):
        planned = NOW + timedelta(minutes=minutes)
        return rules.Fact("dispatch.job.eta_changed", NOW, ticket_id="T1", visit=1, data={
            "planned_arrival": planned, "previous_arrival": NOW if previous else None, "reason": reason})

    assert rules.notices_for(fact(30), eta_margin=m) == []
    assert rules.notices_for(fact(-30), eta_margin=m) == []
    (late,) = rules.notices_for(fact(31), eta_margin=m)
    (early,) = rules.notices_for(fact(-45), eta_margin=m)
    assert late.kind == early.kind == "eta_changed" and not late.urgent
    assert rules.dedup_key(late) != rules.dedup_key(early)  # another arrival, another message
    assert rules.dedup_key(late) == rules.dedup_key(rules.notices_for(fact(31), eta_margin=m)[0])
    assert rules.notices_for(fact(120, previous=False), eta_margin=m) == []
    (conf,) = rules.notices_for(fact(5, reason="rescheduled"), eta_margin=m)
    assert conf.kind == "reschedule_confirmed"
    assert rules.notices_for(fact(45), eta_margin=timedelta(hours=1)) == []


def test_quote_once_per_quote_and_assessment_once_per_dealer_month():
    (q,) = rules.notices_for(rules.Fact("dispatch.job.quote_presented", NOW, ticket_id="T1", subject_id="Q1"))
    assert rules.dedup_key(q) == "quote_presented|Q1|customer:T1"
    (a,) = rules.notices_for(rules.Fact("settlement.assessment.issued", NOW, dealer_id="D1",
                                        subject_id="assessment:2026-10"))
    assert rules.dedup_key(a) == "assessment_issued|assessment:2026-10|dealer:D1"
    assert rules.notices_for(rules.Fact("dispatch.job.quote_accepted", NOW, ticket_id="T1")) == []
