"""When the demo's tickets arrive: seasons per category, weekdays, office hours, Spring Festival, growth.

Why: trend charts and the "what changed this month" views need data with the rhythm of the real hotline:
more calls on weekdays and in office hours, heating complaints from November to March, sewage and
flooding in July and August, wage arrears peaking in the weeks before Spring Festival (real dates per year)
and a gentle growth from year to year.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .taxonomy import SPRING_FESTIVAL

YEARLY_GROWTH = 0.07
WEEKDAY_FACTOR = np.array([1.08, 1.05, 1.03, 1.02, 1.0, 0.72, 0.66])  # Mon..Sun

# Share of a day's tickets by hour (0..23): office hours dominate, a small night tail.
HOURS_WEEKDAY = np.array([0.4, 0.25, 0.15, 0.12, 0.15, 0.35, 1.0, 2.6, 6.2, 8.6, 8.9, 8.0, 5.6, 6.4, 8.2,
                          8.3, 7.9, 6.8, 4.8, 4.0, 3.6, 2.9, 1.8, 0.9])
HOURS_WEEKEND = np.array([0.6, 0.35, 0.2, 0.15, 0.15, 0.3, 0.9, 2.2, 4.6, 6.5, 7.6, 7.4, 6.0, 6.2, 7.0,
                          7.1, 6.9, 6.3, 5.3, 4.9, 4.4, 3.6, 2.4, 1.3])


def default_end(today: dt.date | None = None) -> dt.date:
    """The last day of the last full month before today."""
    today = today or dt.date.today()
    return today.replace(day=1) - dt.timedelta(days=1)


def period(end: dt.date, years: int) -> pd.DatetimeIndex:
    """Every day of the `years` years ending on `end` (inclusive)."""
    start = pd.Timestamp(end) - pd.DateOffset(years=years) + pd.Timedelta(days=1)
    return pd.date_range(start, pd.Timestamp(end), freq="D")


def _spring_festivals(days: pd.DatetimeIndex) -> list[pd.Timestamp]:
    years = range(days[0].year, days[-1].year + 2)
    return [pd.Timestamp(SPRING_FESTIVAL[y]) for y in years if y in SPRING_FESTIVAL]


def season_weights(days: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Relative intensity per day for each season profile (mean about 1 over a year)."""
    month = days.month.to_numpy()
    doy = days.day_of_year.to_numpy()
    out: dict[str, np.ndarray] = {"flat": np.ones(len(days))}
    heating = np.where(np.isin(month, [11, 12, 1, 2, 3]), 2.2, 0.12)
    heating = heating * np.where((month == 11) & (days.day.to_numpy() >= 10), 1.6, 1.0)
    heating = heating * np.where(month == 3, 0.6, 1.0)
    out["heating"] = heating
    out["summer"] = 1.0 + 0.35 * np.cos((doy - 200) / 365.25 * 2 * np.pi)
    out["flood"] = np.where(np.isin(month, [7, 8]), 5.0, np.where(np.isin(month, [6, 9]), 1.2, 0.25))
    out["sewage"] = np.where(np.isin(month, [7, 8]), 2.8, np.where(np.isin(month, [6, 9]), 1.4, 0.6))
    out["spring"] = 1.0 + 0.3 * np.cos((doy - 110) / 365.25 * 2 * np.pi)
    out["school"] = np.where(np.isin(month, [7, 8]), 0.35, np.where(month == 2, 0.6, 1.15))
    wages = np.full(len(days), 0.6)
    for sf in _spring_festivals(days):
        before = (sf - days).days.to_numpy()
        # ramp up over the 8 weeks before the festival, highest in the last 3 weeks
        wages = wages + np.where((before > 0) & (before <= 56), 3.5 * np.clip((60 - before) / 40, 0.2, 1.0), 0.0)
        wages = wages * np.where((before <= 0) & (before > -7), 0.3, 1.0)   # holiday week is quiet
    out["festival_wages"] = wages
    # the Spring Festival holiday week is quiet for everything
    hol = np.ones(len(days))
    for sf in _spring_festivals(days):
        off = (days - sf).days.to_numpy()
        hol = hol * np.where((off >= -1) & (off <= 5), 0.55, 1.0)
    for k in out:
        out[k] = out[k] / out[k].mean() * hol
    return out


def common_factor(days: pd.DatetimeIndex) -> np.ndarray:
    """Weekday x yearly growth factor shared by every category."""
    years_in = (days - days[0]).days.to_numpy() / 365.25
    return WEEKDAY_FACTOR[days.day_of_week.to_numpy()] * (1.0 + YEARLY_GROWTH) ** years_in


def times_of_day(rng: np.random.Generator, weekend: np.ndarray) -> np.ndarray:
    """Seconds after midnight for each ticket, from the weekday or weekend hour profile."""
    n = weekend.size
    hours = np.empty(n, dtype=np.int64)
    for flag, prof in ((False, HOURS_WEEKDAY), (True, HOURS_WEEKEND)):
        m = weekend == flag
        hours[m] = rng.choice(24, size=int(m.sum()), p=prof / prof.sum())
    return hours * 3600 + rng.integers(0, 3600, n)
