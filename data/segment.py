"""Words and phrases of one ticket's text (`words_of`): the segmentation used at import.

Segmentation: jieba's dictionary and algorithm, through the C++ build
`jieba_fast_dat` when it is installed (about 13x faster, same dictionary and
user-dictionary format), else plain `jieba`; HMM off (new-word guessing adds
noise and costs time), the domain dictionary `data/dict/domain.txt` and every
Beijing street/township name loaded as user words, and the stopwords of
the stopwords of `data/dict/stopwords*.txt` dropped (the hotline's own list, letter and petition language,
English; English tokens compared in lower case).

A meaningful word has at least two characters, is not a stopword, contains no
digit (numbers, phone and ID numbers) and is not part of the complainant's own
name. A phrase is two meaningful words adjacent in the text, stored as
"词1 词2" (a space inside: the dashboard's text filter then requires both).

"""

from __future__ import annotations

import csv
import logging
import re
import tempfile
from functools import lru_cache
from pathlib import Path

from data import settings

DICT_DIR = Path(__file__).with_name("dict")
DOMAIN_FILE = DICT_DIR / "domain.txt"
STOPWORDS_FILE = DICT_DIR / "stopwords.txt"
# Every stopword list: the hotline's own, letter and petition language, English (compared in lower case).
STOPWORD_FILES = (STOPWORDS_FILE, DICT_DIR / "stopwords_letters.txt", DICT_DIR / "stopwords_en.txt")
STREET_NAMES_FILE = settings.PROJECT_ROOT / "geo" / "assets" / "beijing_subdistrict_centroids_wgs84.csv"
_STREET_SUFFIXES = ("街道办事处", "地区办事处", "街道", "地区", "镇", "乡")
# Compounds of jieba's base dictionary that hide a domain word: split them so
# 污水排放 counts as 污水 + 排放, like every other ticket about 污水.
SPLIT_WORDS = ("污水排放", "施工噪声", "噪音扰民", "井盖破损")

_TEXT_CACHE_MAX = 200_000     # distinct texts remembered (repeated complaints are common)
_HAS_DIGIT = re.compile(r"\d")
_WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z]")


# --------------------------------------------------------------------------- segmentation
@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The stopwords of every list in `STOPWORD_FILES`, in lower case (comments and blank lines skipped)."""
    out: set[str] = set()
    for f in STOPWORD_FILES:
        lines = f.read_text(encoding="utf-8").splitlines()
        out.update(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))
    return frozenset(out)


def place_words() -> list[str]:
    """Street/township names with and without their suffix (建国门街道, 建国门), 2+ characters."""
    out: dict[str, None] = {}
    with STREET_NAMES_FILE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["name"].strip()
            out[name] = None
            for suf in _STREET_SUFFIXES:
                if name.endswith(suf) and len(name) - len(suf) >= 2:
                    out[name[: -len(suf)]] = None
                    break
    return list(out)


def _cache_dir() -> Path:
    """Where jieba keeps its prefix-dictionary cache: var/cache/jieba, else the temp dir."""
    for d in (settings.PROJECT_ROOT / "var" / "cache" / "jieba", Path(tempfile.gettempdir()) / "hotline-jieba"):
        try:
            d.mkdir(parents=True, exist_ok=True)
            probe = d / ".w"
            probe.touch()
            probe.unlink()
            return d
        except OSError:
            continue
    return Path(tempfile.gettempdir())


@lru_cache(maxsize=1)
def tokenizer():
    """The initialised jieba tokenizer (domain dictionary and place names loaded), built once per process."""
    cache = _cache_dir()
    try:
        import jieba_fast_dat as jb
        from jieba_fast_dat.utils import CacheManager

        CacheManager.TMP_DIR = cache
    except ImportError:  # pragma: no cover - plain jieba fallback
        import jieba as jb
    jb.setLogLevel(logging.WARNING)
    dt = jb.dt
    dt.tmp_dir = str(cache)
    dt.initialize()
    dt.load_userdict(str(DOMAIN_FILE))
    for w in SPLIT_WORDS:
        dt.del_word(w)
    for w in place_words():
        dt.add_word(w, 1000, "ns")
    return dt


def backend() -> str:
    """Which segmenter is in use (for logs and the benchmark)."""
    return type(tokenizer()).__module__.split(".")[0]


def words_of(text: str | None, name: str | None = None) -> list[str]:
    """Distinct meaningful words, then adjacent-word phrases, of one text, in order of appearance.

    `name` is the complainant's name: words that are part of it are dropped
    so a name never shows up in a word ranking.
    """
    if not text:
        return []
    out = _segment(text)
    if name and len(name) >= 2 and any(name[i:i + 2] in text for i in range(len(name) - 1)):
        return [w for w in out if not any(part in name for part in w.split(" "))]
    return list(out)


_KEEP: dict[str, str | None] = {}


def _keep(tok: str) -> str | None:
    """The word a token counts as, or None when it is not a meaningful word (memoised: the vocabulary of
    tickets is small). Latin-script words are counted in lower case: an English export writes the same word
    as "WATER" in one descriptor and "Water" in another."""
    k = _KEEP.get(tok, False)
    if k is False:
        if len(_KEEP) > 1_000_000:  # unique numbers would grow it without bound
            _KEEP.clear()
        low = tok.lower()
        ok = (len(tok) >= 2 and tok == tok.strip() and low not in stopwords()
              and not _HAS_DIGIT.search(tok) and bool(_WORDY.search(tok)))
        k = (low if tok.isascii() else tok) if ok else None
        _KEEP[tok] = k
    return k


@lru_cache(maxsize=1)
def _cutter():
    """text -> list of tokens (HMM off); jieba_fast_dat's C++ function called directly (skips two Python layers)."""
    dt = tokenizer()
    try:
        from jieba_fast_dat import _jieba_fast_dat_functions_py3 as cpp

        cut, dat, total = cpp._cut_internal_cpp, dt.dat, float(dt.total)
        cut(dat, "井盖", total, False)
        return lambda text: cut(dat, text, total, False)
    except (ImportError, AttributeError):  # pragma: no cover - plain jieba
        return lambda text: dt.lcut(text, HMM=False)


@lru_cache(maxsize=_TEXT_CACHE_MAX)
def _segment(text: str) -> tuple[str, ...]:
    keep = _KEEP
    words: dict[str, None] = {}
    phrases: dict[str, None] = {}
    prev = None
    for tok in _cutter()(text):
        w = keep.get(tok, False)
        if w is False:
            w = _keep(tok)
        if w:
            words[w] = None
            if prev is not None:
                phrases[prev + " " + w] = None
            prev = w
        else:
            prev = None
    return (*words, *phrases)
