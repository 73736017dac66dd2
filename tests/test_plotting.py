"""sslm_utils.plotting: the book's figure style and rounded tables."""

import pytest

from sslm_utils.plotting import round_frame, use_book_style


def test_style_and_rounding():
    import matplotlib as mpl
    import pandas as pd

    use_book_style()
    assert mpl.rcParams["axes.spines.top"] is False
    assert round_frame(pd.DataFrame({"a": [1.23456]}), 2)["a"][0] == 1.23
    with pytest.raises(ValueError):
        round_frame(pd.DataFrame(), -1)
