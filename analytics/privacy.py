"""Masking of personal data: the one place the screen and every export use.

Complainant names, mobile and landline numbers and ID-card numbers are always
masked, in their own fields and inside ticket text (there is no switch: seeing
them is a per-ticket permission of some roles, with a stated reason, recorded
in the audit trail; views/tickets.py calls `mask_frame(..., force=False)` for
that one view): 张三 -> 张*, 欧阳娜娜 -> 欧阳**, 13812341234 -> 138****1234,
110105198001011234 -> 110105********1234.
"""

from __future__ import annotations

import re

import pandas as pd

# 18-digit ID (last may be X) or old 15-digit ID; not part of a longer digit run.
_ID_RE = re.compile(r"(?<![0-9])([1-9]\d{5})(\d{8}|\d{5})(\d{3}[0-9Xx]|\d)(?![0-9Xx])")
# Mainland mobile numbers, optionally +86 / 86 prefixed, with optional separators.
_MOBILE_RE = re.compile(r"(?<![0-9])((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9])")
# Landlines such as 010-12345678 or 01012345678.
_LANDLINE_RE = re.compile(r"(?<![0-9])(0\d{2,3})-?(\d{3,4})(\d{4})(?![0-9])")
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "司徒", "夏侯")

PII_COLUMNS = ("complainant_name", "complainant_phone")
TEXT_COLUMNS = ("content", "summary", "outcome", "reply", "extra")


def enabled() -> bool:
    """Masking is on everywhere (kept as a function for the callers that pass it on)."""
    return True


def mask_name(name) -> str | None:
    """张三 -> 张*, 欧阳娜娜 -> 欧阳**, John Smith -> J*** S****."""
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return None
    s = str(name).strip()
    if not s:
        return s
    if s.isascii():
        return " ".join(w[0] + "*" * (len(w) - 1) for w in s.split())
    keep = 2 if s[:2] in _COMPOUND_SURNAMES and len(s) > 2 else 1
    return s[:keep] + "*" * (len(s) - keep)


def mask_phone(phone) -> str | None:
    """13812341234 -> 138****1234; other numbers keep their first 3 and last 4 digits."""
    if phone is None or (isinstance(phone, float) and pd.isna(phone)):
        return None
    s = str(phone).strip()
    masked = mask_text(s)
    if masked != s:
        return masked
    digits = re.sub(r"\D", "", s)
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(s)


def mask_text(text) -> str | None:
    """Mask ID-card and phone numbers inside free text."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    s = str(text)
    s = _ID_RE.sub(lambda m: m.group(0)[:6] + "*" * (len(m.group(0)) - 10) + m.group(0)[-4:], s)
    s = _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", s)
    s = _LANDLINE_RE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", s)
    return s


def mask_names_in_text(text, names) -> str | None:
    """Mask the given names where they appear inside text (e.g. the complainant's own name)."""
    if text is None:
        return None
    s = str(text)
    for n in names:
        if n and isinstance(n, str) and len(n.strip()) >= 2:
            s = s.replace(n.strip(), mask_name(n.strip()))
    return s


def mask_frame(df: pd.DataFrame, *, force: bool | None = None) -> pd.DataFrame:
    """A copy of `df` with personal data masked (force=False: unmasked, for an audited unmask only).

    Masks the complainant columns, and phone/ID numbers and the complainant's
    own name inside the text columns present.
    """
    on = enabled() if force is None else force
    if not on or df.empty:
        return df
    out = df.copy()
    if "complainant_name" in out:
        names = out["complainant_name"]
        for col in TEXT_COLUMNS:
            if col in out:
                out[col] = [mask_names_in_text(t, [n]) for t, n in zip(out[col], names, strict=True)]
        out["complainant_name"] = names.map(mask_name)
    if "complainant_phone" in out:
        out["complainant_phone"] = out["complainant_phone"].map(mask_phone)
    for col in TEXT_COLUMNS:
        if col in out:
            out[col] = out[col].map(mask_text)
    return out
