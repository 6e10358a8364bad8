"""Issue 13, finding 13: codes are safe as command arguments, URL segments and file names."""

from __future__ import annotations

import argparse
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import new_code

SAFE = re.compile(r"^[A-Za-z0-9]{12}$")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=100))
def test_it_draws_codes_of_letters_and_digits_only(draws: int) -> None:
    # With the old URL-safe alphabet one code in 64 started with "-": 200 × ~50 draws
    # find one with certainty.
    for _ in range(draws):
        assert SAFE.match(new_code())


def test_it_draws_codes_an_argument_parser_reads_as_positionals() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("codes", nargs="*")
    codes = [new_code() for _ in range(2000)]
    assert parser.parse_args(codes).codes == codes
