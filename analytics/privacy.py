"""Masking of personal data: the one place the screen and every export use.

Complainant names, mobile and landline numbers and ID-card numbers are always
masked, in their own fields and inside ticket text (there is no switch: seeing
them is a per-ticket permission of some roles, with a stated reason, recorded
in the audit trail; views/tickets.py calls `mask_frame(..., force=False)` for
that one view): 张三 -> 张*, 欧阳娜娜 -> 欧阳**, 13812341234 -> 138****1234,
110105198001011234 -> 110105********1234.
Numbers written in groups (spaces, dashes, dots) or in full-width digits are
masked digit by digit, their separators kept: `110105 19800101 1234` ->
`110105 ******** 1234`, `138-1234-5678` -> `138-****-5678`.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

# 18-digit ID (last may be X) or old 15-digit ID; not part of a longer digit run.
_ID_RE = re.compile(r"(?<![0-9])([1-9]\d{5})(\d{8}|\d{5})(\d{3}[0-9Xx]|\d)(?![0-9Xx])")
# Mainland mobile numbers, optionally +86 / 86 prefixed, with optional separators.
_MOBILE_RE = re.compile(r"(?<![0-9])((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9])")
# Landlines such as 010-12345678 or 01012345678.
_LANDLINE_RE = re.compile(r"(?<![0-9])(0\d{2,3})-?(\d{3,4})(\d{4})(?![0-9])")
# A run of digits, possibly in groups split by one or two separators (spaces, no-break and ideographic spaces,
# dashes, dots) and ending in an ID number's X. `\d` takes full-width digits too (Chinese input methods type them).
_SEP = "[ \u00a0\u3000\u2010-\u2015\uff0d.-]"
_RUN_RE = re.compile(rf"(?<!\d)\d+(?:{_SEP}{{1,2}}\d+)*(?:{_SEP}?[Xx])?(?!\d)")
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
    """Mask ID-card and phone numbers inside free text, however their digits are grouped or typed."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    s = _RUN_RE.sub(_mask_grouped, str(text))
    s = _ID_RE.sub(lambda m: m.group(0)[:6] + "*" * (len(m.group(0)) - 10) + m.group(0)[-4:], s)
    s = _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", s)
    s = _LANDLINE_RE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", s)
    return s


def _mask_grouped(m: re.Match) -> str:
    """A run of digits written in groups or in full-width digits, with every ID or phone number in it masked.

    Plain ASCII runs are left to the regular expressions above (their output stays as it always was). The groups
    are scanned left to right; the longest span of whole groups that reads as an ID or phone number is masked,
    keeping its separators.
    """
    run = m.group(0)
    if run.isascii() and run.isdigit():
        return run
    groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", run)]
    if run[-1] in "Xx":   # the X of an ID number belongs to the last group
        groups[-1] = (groups[-1][0], len(run))
    out = list(run)
    i = 0
    while i < len(groups):
        for j in range(len(groups) - 1, i - 1, -1):
            span = run[groups[i][0]:groups[j][1]]
            digits = "".join(_ascii_digit(c) for c in span if c.isdigit() or c in "Xx")
            keep = _kind(digits)
            if keep is not None:
                _star(out, groups[i][0], groups[j][1], keep, len(digits))
                i = j
                break
        i += 1
    return "".join(out)


def _ascii_digit(c: str) -> str:
    return "X" if c in "Xx" else str(unicodedata.digit(c))


def _kind(d: str) -> int | None:
    """How many leading digits stay visible if `d` (digits only) is an ID or phone number; None if it is not."""
    if d[:-1].isdigit() and (d[-1].isdigit() or d[-1] == "X") and len(d) in (15, 18) and d[0] != "0":
        return 6 if (len(d) == 18 or d[-1] != "X") else None
    if not d.isdigit():
        return None
    if len(d) == 11 and d[0] == "1" and d[1] in "3456789":
        return 3
    if len(d) == 13 and d.startswith("861") and d[3] in "3456789":
        return 5
    if 10 <= len(d) <= 12 and d[0] == "0":
        return 3 if d[1] in "12" else 4
    return None


def _star(out: list[str], start: int, end: int, keep: int, n: int) -> None:
    """Replace the digits of out[start:end] after the first `keep` and before the last four by '*'."""
    k = 0
    for pos in range(start, end):
        if out[pos].isdigit() or out[pos] in "Xx":
            if keep <= k < n - 4:
                out[pos] = "*"
            k += 1


# A keyword search with more digits than this (over all its terms: `138 1234 5678` is three terms that together
# find one phone) can only be looking for a phone or ID number, or a part of one long enough to single a
# person out.
SEARCH_DIGITS_MAX = 6


def personal_number_search(text: str) -> bool:
    """Does a keyword search look for a phone or ID number (more than SEARCH_DIGITS_MAX digits in all)?"""
    return sum(c.isdigit() for c in (text or "")) > SEARCH_DIGITS_MAX


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
