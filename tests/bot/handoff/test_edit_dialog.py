"""The Edit dialog's input: bad input is an InputError carrying the message for the block it belongs under."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.handoff.blocks import read_edit


def _values(lines: str, kind: str = "invoice") -> dict:
    return {"lines": {"value": {"value": lines}}, "kind": {"value": {"selected_option": {"value": kind}}}}


@pytest.mark.parametrize(
    ("values", "block", "message"),
    [
        (_values("2 x Setup 150"), "lines", "line 1: write it as"),
        (_values("QTY x Setup @ 150"), "lines", "line 1: replace QTY"),
        (_values("1 x Setup @ 1", kind="bribe"), "kind", "Choose invoice or estimate"),
    ],
)
def test_bad_input_names_its_block(values, block, message):
    with pytest.raises(InputError) as err:
        read_edit(values)
    assert list(err.value.fields) == [block] and err.value.fields[block].startswith(message)
    assert str(err.value) == err.value.fields[block]


def test_good_input_reads():
    billing, terms, kind, lines = read_edit(_values("2 x Setup @ 150"))
    assert kind == "invoice" and terms is None and lines and lines[0].quantity == 2
