"""Ids never read as numbers: not in pandas, not in a spreadsheet (issue: a run id of digits only
came back from Duet's own CSV as an integer)."""

import io

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from duet_core.models import id_from, new_id, new_run_id


@given(bits=st.integers(min_value=0, max_value=(1 << 44) - 1), prefix=st.sampled_from("rjxt"))
def test_no_id_reads_as_a_number(bits, prefix):
    made = id_from(prefix, bits)
    assert len(made) == 12
    with pytest.raises(ValueError):
        float(made)
    column = pd.read_csv(io.StringIO(f"run_id\n{made}\n"))["run_id"]
    assert column.tolist() == [made]


@given(bits=st.sampled_from([0, 516249504569, int("12e45", 16), (1 << 44) - 1]))
def test_the_worst_hex_digits_still_read_as_text(bits):
    made = id_from("r", bits)
    assert pd.read_csv(io.StringIO(f"id\n{made}\n"))["id"].tolist() == [made]


def test_new_ids_carry_their_kind():
    assert new_run_id().startswith("r")
    assert new_id("x").startswith("x")
    with pytest.raises(ValueError):
        id_from("1", 5)
