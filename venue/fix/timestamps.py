"""FIX UTCTimestamp text <-> integer nanoseconds since the epoch (UTC).

Invariants:
- Timestamps are integer nanoseconds; no floats. Formatting truncates to milliseconds.
- Parsing accepts ``YYYYMMDD-HH:MM:SS`` with no fraction or 3, 6 or 9 fractional digits, a
  real calendar date, hours to 23, minutes to 59 and seconds to 60 (a leap second), and
  nothing else.
- The caches (the last second formatted, the last second parsed) hold one entry each and
  only save work: every answer is the one the full computation gives.
"""

from __future__ import annotations

import re
import time

__all__ = ["format_utc_timestamp", "parse_utc_timestamp"]

# (second, b"YYYYMMDD-HH:MM:SS") of the last call: consecutive calls mostly share the second.
_last_second: list[tuple[int, bytes]] = [(-(2**63), b"")]


def format_utc_timestamp(ts_ns: int) -> bytes:
    """``YYYYMMDD-HH:MM:SS.sss`` (UTC, milliseconds, truncated) for nanoseconds since epoch."""
    second, ns = divmod(ts_ns, 1_000_000_000)
    cached_second, prefix = _last_second[0]
    if cached_second != second:
        t = time.gmtime(second)
        prefix = b"%04d%02d%02d-%02d:%02d:%02d" % (
            t.tm_year,
            t.tm_mon,
            t.tm_mday,
            t.tm_hour,
            t.tm_min,
            t.tm_sec,
        )
        _last_second[0] = (second, prefix)
    return b"%s.%03d" % (prefix, ns // 1_000_000)


_TIMESTAMP_RE = re.compile(rb"([0-9]{4})([0-9]{2})([0-9]{2})-([0-9]{2}):([0-9]{2}):([0-9]{2})")
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


# (b"YYYYMMDD-HH:MM:SS", its nanoseconds since epoch) of the last parse: inbound timestamps
# mostly share the second, so the common case is one comparison and the fraction.
_last_parsed: list[tuple[bytes, int]] = [(b"19700101-00:00:00", 0)]
_FRACTION_SCALE = {0: 0, 3: 1_000_000, 6: 1_000, 9: 1}


def parse_utc_timestamp(value: bytes) -> int | None:
    """Nanoseconds since epoch of a FIX UTCTimestamp; None if it is not one.

    Accepts ``YYYYMMDD-HH:MM:SS`` with no fraction or 3, 6 or 9 fractional digits; seconds may
    be 60 (a leap second, counted as the first second of the next minute).
    """
    n = len(value)
    if n == 21:  # the usual case: milliseconds within the second parsed last time
        cached_text, cached_ns = _last_parsed[0]
        if value.startswith(cached_text) and value[17] == 0x2E:  # "."
            digits = value[18:]
            return cached_ns + int(digits) * 1_000_000 if digits.isdigit() else None
    scale = _FRACTION_SCALE.get(n - 18 if n > 17 else 0)
    if scale is None or (n > 17 and value[17] != 0x2E):  # "."
        return None
    fraction = 0
    if n > 17:
        digits = value[18:]
        if not digits.isdigit():
            return None
        fraction = int(digits) * scale
    second_text = value[:17]
    cached_text, cached_ns = _last_parsed[0]
    if second_text == cached_text:
        return cached_ns + fraction
    match = _TIMESTAMP_RE.fullmatch(second_text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if not 1 <= month <= 12 or hour > 23 or minute > 59 or second > 60 or day < 1:
        return None
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day > _DAYS_IN_MONTH[month] + leap:
        return None
    days = _days_from_civil(year, month, day)
    ns = ((days * 24 + hour) * 60 + minute) * 60_000_000_000 + second * 1_000_000_000
    _last_parsed[0] = (bytes(second_text), ns)
    return ns + fraction
