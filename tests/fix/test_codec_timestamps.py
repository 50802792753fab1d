"""UTC timestamps: format (milliseconds) and parse (seconds to nanoseconds), against datetime."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from venue.fix.codec import format_utc_timestamp, parse_utc_timestamp

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# 1900-01-01 .. 2199-12-31, in nanoseconds.
instants = st.integers(min_value=-2208988800 * 10**9, max_value=7258118399 * 10**9 + 999999999)


def reference_ns(moment: dt.datetime, extra_ns: int = 0) -> int:
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000 + extra_ns


@given(instants)
@settings(deadline=None)
def test_format_matches_datetime_and_parses_back_to_the_millisecond(ts_ns: int) -> None:
    text = format_utc_timestamp(ts_ns)
    moment = EPOCH + dt.timedelta(microseconds=ts_ns // 1000)
    assert text == moment.strftime("%Y%m%d-%H:%M:%S.").encode() + b"%03d" % (
        moment.microsecond // 1000
    )
    assert parse_utc_timestamp(text) == ts_ns - ts_ns % 1_000_000


@given(instants)
@settings(deadline=None)
def test_parse_every_precision(ts_ns: int) -> None:
    moment = EPOCH + dt.timedelta(microseconds=ts_ns // 1000)
    base = moment.strftime("%Y%m%d-%H:%M:%S").encode()
    nanos = ts_ns % 10**9
    assert parse_utc_timestamp(base) == ts_ns - nanos
    assert parse_utc_timestamp(base + b".%03d" % (nanos // 10**6)) == ts_ns - nanos % 10**6
    assert parse_utc_timestamp(base + b".%06d" % (nanos // 10**3)) == ts_ns - nanos % 10**3
    assert parse_utc_timestamp(base + b".%09d" % nanos) == ts_ns


def test_leap_second_and_leap_day() -> None:
    assert parse_utc_timestamp(b"20161231-23:59:60") == parse_utc_timestamp(b"20170101-00:00:00")
    assert parse_utc_timestamp(b"20240229-12:00:00") == reference_ns(
        dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC)
    )
    assert parse_utc_timestamp(b"20000229-00:00:00") is not None


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"20040415",  # a date is not a timestamp (conformance RejectResentMessage: 126)
        b"20261121-06:11:04.",
        b"20261121-06:11:04.1",
        b"20261121-06:11:04.12",
        b"20261121-06:11:04.1234",
        b"20261121-06:11:04.12a",
        b"20261121-06:11:04.+12",
        b"20261121 06:11:04",
        b"20261121-06:11:04,123",
        b"2026112-06:11:04.123",
        b"20261321-06:11:04",
        b"20261100-06:11:04",
        b"20261131-06:11:04",
        b"20230229-06:11:04",
        b"21000229-06:11:04",
        b"20261121-24:00:00",
        b"20261121-23:60:00",
        b"20261121-23:59:61",
        b"2026-11-21T06:11:04",
        "20261121-06:11:0\u0664".encode(),
    ],
)
def test_invalid_timestamps(value: bytes) -> None:
    assert parse_utc_timestamp(value) is None


def test_cache_does_not_leak_between_seconds() -> None:
    a = parse_utc_timestamp(b"20261121-06:11:04.500")
    b = parse_utc_timestamp(b"20261121-06:11:05.500")
    c = parse_utc_timestamp(b"20261121-06:11:04.500")
    assert a is not None and b is not None
    assert b - a == 10**9
    assert c == a
    assert format_utc_timestamp(10**9 + 5 * 10**6) == b"19700101-00:00:01.005"
    assert format_utc_timestamp(2 * 10**9) == b"19700101-00:00:02.000"
    assert format_utc_timestamp(10**9 + 999_999_999) == b"19700101-00:00:01.999"
