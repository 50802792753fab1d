"""Every example FIX message in the Rules of Engagement and DICTIONARY.md is valid FIX 4.4 as
the venue's dictionary (`fix_specs/FIX44.xml`) defines it, checked with QuickFIX's rules by the
venue's own validator: framing (BodyLength, CheckSum), a message type the dictionary defines,
required fields present, every field allowed in its message, values of the field's type and in
its enum. A client loading FIX44.xml in its engine must accept what the documents show.

Examples are the lines of ```fix-example (and ```fix-dropcopy) blocks and any inline
`8=FIX.4.4|...|10=NNN|` text (`|` standing for SOH).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from venue.fix.codec import FixMessage, Framer
from venue.fix.dictionary import load_dictionary
from venue.fix.validate import validate

SPECS = Path(__file__).resolve().parents[2] / "fix_specs"
DOCS = ("RULES_OF_ENGAGEMENT.md", "DICTIONARY.md")
DICTIONARY = load_dictionary()
_BLOCK = re.compile(r"```fix-[a-z]+\n(.*?)```", re.S)
_INLINE = re.compile(r"8=FIX\.4\.4\|9=\d+\|.*?\|10=\d{3}\|")


def examples(doc: str) -> list[str]:
    text = (SPECS / doc).read_text(encoding="utf-8")
    found: list[str] = []
    for block in _BLOCK.findall(text):
        found += [line.strip() for line in block.strip().splitlines() if line.strip()]
    for inline in _INLINE.findall(_BLOCK.sub("", text)):
        found.append(inline)
    return found


ALL = [(doc, line) for doc in DOCS for line in examples(doc)]


def parse(line: str) -> FixMessage:
    (item,) = Framer().feed(line.replace("|", "\x01").encode())
    assert isinstance(item, FixMessage), (line, item)
    return item


def test_each_document_has_examples() -> None:
    for doc in DOCS:
        assert examples(doc), f"{doc} shows no example message"


@pytest.mark.parametrize(("doc", "line"), ALL, ids=[f"{d}:{n}" for n, (d, _) in enumerate(ALL)])
def test_example_is_valid_against_the_dictionary(doc: str, line: str) -> None:
    msg = parse(line)
    assert msg.msg_type in DICTIONARY.messages, f"{doc}: 35={msg.msg_type!r} is not defined"
    info = validate(msg, DICTIONARY)
    assert info is None, f"{doc}: {line}\n  373={info.reason} 371={info.ref_tag} {info.text}"


def test_a_mass_cancel_with_an_account_is_among_them_and_valid() -> None:
    """The filter RoE section 6 documents (Account on 35=q) is allowed by the dictionary."""
    masses = [parse(line) for _, line in ALL if "|35=q|" in line]
    assert any(m.get(1) for m in masses)
    assert all(validate(m, DICTIONARY) is None for m in masses)
