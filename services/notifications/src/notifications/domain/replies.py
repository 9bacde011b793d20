"""What an inbound SMS means: an opt-out, a rating 1-5, something that reads as a complaint, or nothing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

OPT_OUT_WORDS = frozenset({"TD", "T", "退订", "退定", "UNSUBSCRIBE", "STOP", "N"})
COMPLAINT_WORDS = ("投诉", "不满", "差评", "太差", "很差", "没修好", "没有修好", "还是坏", "态度", "骗", "乱收费",
                   "没来", "迟到", "举报", "complain", "terrible", "not fixed")


@dataclass(frozen=True)
class Reply:
    kind: Literal["opt_out", "rating", "complaint", "other"]
    rating: int | None = None


def classify(text: str) -> Reply:
    """Classify a reply; full-width digits and letters count as their ASCII forms."""
    norm = unicodedata.normalize("NFKC", text or "").strip()
    upper = norm.upper().strip("。.!！ ")
    if upper in OPT_OUT_WORDS:
        return Reply("opt_out")
    if re.fullmatch(r"[1-5]", upper):
        rating = int(upper)
        return Reply("rating", rating)
    m = re.fullmatch(r"([1-5])\s*(分|星)?[\s,，。]*(.*)", norm, flags=re.S)
    lowered = norm.lower()
    if any(w in lowered for w in COMPLAINT_WORDS):
        return Reply("complaint", int(m.group(1)) if m else None)
    if m:
        return Reply("rating", int(m.group(1)))
    return Reply("other")
