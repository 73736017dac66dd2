"""sslm_utils.display: glue values into the book's text."""

import pytest

from sslm_utils.display import glue


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
