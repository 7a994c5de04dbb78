"""The pure decision on repeats and cross-channel duplicates, and its explanation."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from gateway.records.links import MAX_LINKS, Candidate, LinkPolicy, decide, signature
from normalizer import SHANGHAI

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
PIPE = "胜利路和解放路路口的自来水管道爆裂，路面全是水，车辆无法通行，请尽快派人抢修"
NOISE = "小区门口的垃圾桶已经三天没有清运，气味很大，希望环卫部门处理"


def appeal(no: str, text: str, *, hours: float = 0, channel: str = "phone", **more: str) -> Candidate:
    return Candidate(no, T0 + timedelta(hours=hours), channel, text[:12], text, **more)


def test_the_same_citizen_about_the_same_matter_within_the_window_is_a_repeat() -> None:
    first = appeal("A1", NOISE, phone="+8613912341234", category="城乡建设")
    again = appeal("A2", "又来反映：" + NOISE, hours=24 * 10, phone="+8613912341234", category="城乡建设")
    links = decide(again, [first], LinkPolicy(), T0 + timedelta(days=11))
    assert [(link.earlier_no, link.kind) for link in links] == [("A1", "repeat")]
    why = links[0].why
    assert "phone ending 1234" in why["rule"] and "+8613912341234" not in str(why)
    assert why["category"] == "城乡建设" and any("垃圾桶" in w for w in why["words"])
    # past the window (30 days by default, configurable): not a repeat
    late = appeal("A3", NOISE, hours=24 * 31, phone="+8613912341234", category="城乡建设")
    assert decide(late, [first], LinkPolicy(), T0 + timedelta(days=40)) == []
    assert decide(late, [first], LinkPolicy(window_days=45), T0 + timedelta(days=40))[0].kind == "repeat"


def test_a_matter_reported_through_another_channel_within_hours_is_a_duplicate() -> None:
    phone = appeal("B1", PIPE, channel="phone", area="shengli")
    wechat = appeal(
        "B2",
        "胜利路和解放路路口自来水管道爆裂了，路面全是水，车辆无法通行，尽快抢修",
        hours=1.5,
        channel="wechat",
        area="shengli",
    )
    other = appeal("B3", NOISE, hours=1, channel="sms", area="shengli")
    links = decide(wechat, [phone, other], LinkPolicy(), T0 + timedelta(hours=2))
    assert [(link.earlier_no, link.kind) for link in links] == [("B1", "duplicate")]
    why = links[0].why
    assert why["similarity"] >= 0.5 and why["place"] == "shengli" and why["hours_apart"] == 1.5
    assert "phone" in why["rule"] and any("自来水管道爆裂" in w for w in why["words"])
    # the threshold is configuration: a stricter one leaves it unlinked
    assert decide(wechat, [phone], LinkPolicy(duplicate_threshold=0.99), T0 + timedelta(hours=2)) == []
    # another place: not the same matter
    elsewhere = appeal("B4", PIPE, hours=1, channel="sms", area="longzihu")
    assert decide(elsewhere, [phone], LinkPolicy(), T0 + timedelta(hours=2)) == []


def test_strangers_about_different_things_are_not_linked_and_later_appeals_are_not_earlier() -> None:
    a = appeal("C1", PIPE, phone="+8613900000001")
    b = appeal("C2", NOISE, hours=1, phone="+8613900000002", channel="sms")
    assert decide(b, [a], LinkPolicy(), T0 + timedelta(hours=2)) == []
    assert (
        decide(a, [appeal("C3", PIPE, hours=1, channel="sms")], LinkPolicy(), T0 + timedelta(hours=2)) == []
    )


def test_a_matter_reported_many_times_links_to_the_most_similar_earlier_reports_only() -> None:
    """Fifteen earlier reports of one place and topic: the new one links to the MAX_LINKS most
    similar (the identical ones, newest first), not to all of them."""
    earlier = [
        appeal(f"C{i:02d}", NOISE if i % 3 else "又来反映：" + NOISE, hours=i, area="a", category="城乡建设")
        for i in range(15)
    ]
    new = appeal("C99", NOISE, hours=20, area="a", category="城乡建设")
    links = decide(new, earlier, LinkPolicy(), T0 + timedelta(days=1))
    assert len(links) == MAX_LINKS == 10
    identical = [c.appeal_no for c in reversed(earlier) if c.content == NOISE]  # 10 of them
    assert [link.earlier_no for link in links] == identical
    assert all(link.why["similarity"] == 1.0 and link.why["words"] for link in links)


def test_a_stored_signature_gives_the_similarity_the_text_gives() -> None:
    first = appeal("D1", PIPE, channel="phone", area="shengli")
    second = appeal("D2", PIPE[2:] + "！", hours=1, channel="wechat", area="shengli")
    signed = [replace(c, minhash=signature(c.text)) for c in (first, second)]
    from_text = decide(second, [first], LinkPolicy(), T0 + timedelta(hours=2))
    from_store = decide(signed[1], [signed[0]], LinkPolicy(), T0 + timedelta(hours=2))
    assert from_text == from_store and from_text[0].why["similarity"] > 0.8
    assert len(signed[0].minhash or b"") == 256  # 64 values of 32 bits
