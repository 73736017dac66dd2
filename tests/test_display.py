import pytest

from sslm_utils.display import glue
from sslm_utils.plotting import round_frame, use_book_style


def test_glue_returns_value_and_checks_name():
    assert glue("ppl_trigram", 3.5) == 3.5
    with pytest.raises(ValueError, match="identifiers"):
        glue("ppl-trigram", 1)


def test_glue_turns_array_scalars_into_python_numbers():
    import numpy as np
    import torch

    assert type(glue("a", np.float64(1.5))) is float
    assert type(glue("b", torch.tensor(2))) is int
    assert glue("c", "text") == "text"


def test_style_and_rounding():
    import matplotlib as mpl
    import pandas as pd

    use_book_style()
    assert mpl.rcParams["axes.spines.top"] is False
    assert round_frame(pd.DataFrame({"a": [1.23456]}), 2)["a"][0] == 1.23
    with pytest.raises(ValueError):
        round_frame(pd.DataFrame(), -1)
