"""Fake but well-formed personal data: complainant names, mobile numbers and 18-digit ID numbers.

Why: masking (analytics/privacy.py) must have realistic things to mask, in the complainant fields and
inside the free text, without any real person's data.
"""

from __future__ import annotations

import numpy as np

SURNAMES = np.array(list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"), dtype=object)
_SURNAME_W = np.linspace(3.0, 0.3, SURNAMES.size)
GIVEN = np.array(list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉梅文斌宇浩凯鹏飞晨欣悦子涵怡"
                      "佳琪俊杰婷雪峰海燕丹宁亮成博雅思远"), dtype=object)
MOBILE_PREFIX = np.array(["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                          "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182",
                          "183", "185", "186", "187", "188", "189", "191", "198", "199"], dtype=object)
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"), dtype=object)
ID_AREAS = np.array(["110101", "110102", "110105", "110106", "110107", "110108", "110111", "110112", "110114",
                     "110115", "130104", "130602", "370102", "410105", "510104", "340104"], dtype=object)


def names(rng: np.random.Generator, n: int) -> np.ndarray:
    sur = SURNAMES[rng.choice(SURNAMES.size, n, p=_SURNAME_W / _SURNAME_W.sum())]
    g1 = GIVEN[rng.integers(0, GIVEN.size, n)]
    g2 = GIVEN[rng.integers(0, GIVEN.size, n)]
    two = rng.random(n) < 0.65
    out = sur + g1
    out[two] = out[two] + g2[two]
    anon = rng.random(n) < 0.04
    out[anon] = "匿名"
    return out


def mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=object)
    pre = MOBILE_PREFIX[rng.integers(0, MOBILE_PREFIX.size, n)]
    num = rng.integers(0, 100_000_000, n)
    return pre + np.char.zfill(num.astype(str), 8).astype(object)


def id_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """18-digit resident ID numbers with a valid GB 11643 check digit."""
    if n == 0:
        return np.empty(0, dtype=object)
    area = ID_AREAS[rng.integers(0, ID_AREAS.size, n)]
    birth = (np.datetime64("1950-01-01") + rng.integers(0, 365 * 55, n).astype("timedelta64[D]"))
    bstr = np.char.replace(np.datetime_as_string(birth, unit="D"), "-", "").astype(object)
    seq = np.char.zfill(rng.integers(0, 1000, n).astype(str), 3).astype(object)
    body = area + bstr + seq
    digits = np.array([list(b) for b in body], dtype=np.int64)
    check = _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    return body + check


def id_valid(s: str) -> bool:
    """Check digit of an 18-digit ID number (used by tests)."""
    if len(s) != 18 or not s[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == s[17]
