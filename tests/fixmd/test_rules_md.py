"""Section 13 of fix_specs/RULES_OF_ENGAGEMENT.md (market data over FIX) cannot rot: its
reject table, limits and tags are compared with the code and the dictionary."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from venue.fix import mapping_md
from venue.fix.dictionary import load_dictionary
from venue.gateway.marketdata_fix import FixMarketData

DOC = Path(__file__).resolve().parents[2] / "fix_specs" / "RULES_OF_ENGAGEMENT.md"
TEXT = DOC.read_text(encoding="utf-8")
SECTION = TEXT[TEXT.index("## 13. Market data over FIX") :]


def test_reject_table_lists_every_reason_the_venue_sends() -> None:
    rows = re.findall(r"^\| `([0-9A-C])` \| (.+) \|$", SECTION, flags=re.M)
    codes = {code.encode() for code, _ in rows}
    sent = {
        value
        for name, value in vars(mapping_md).items()
        if isinstance(value, bytes) and name.isupper()
        and (name.startswith(("UNSUPPORTED_", "UNKNOWN_", "DUPLICATE_", "INSUFFICIENT_")))
    }  # fmt: skip
    sent.discard(mapping_md.UNSUPPORTED_SUBSCRIPTION_REQUEST_TYPE)  # unreachable, documented
    assert codes == sent
    d = load_dictionary()
    assert codes <= (d.fields[281].values or set())


def test_limits_match_the_code() -> None:
    defaults = inspect.signature(FixMarketData.__init__).parameters
    assert f"already has {defaults['max_subscriptions'].default} live" in SECTION
    assert f"At most {defaults['max_entries'].default} entries per message" in SECTION
    assert f"at most {mapping_md.MAX_MD_REQ_ID} characters" in SECTION


def test_documented_tags_exist() -> None:
    d = load_dictionary()
    for tag in re.findall(r"^\| (\d+) \| \w+ \|", SECTION, flags=re.M):
        assert d.name(int(tag)) is not None, tag
    for msg_type, tags in (
        (b"W", {262, 55, 268, 269, 270, 271, 272, 273, 346, 880}),
        (b"X", {262, 268, 279, 269, 55, 270, 271, 272, 273, 346, 880}),
    ):
        assert tags <= d.messages[msg_type].all_tags
