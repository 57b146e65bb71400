"""The examples in the docstrings of the PyTorch-compatibility modules run and print what they
say (the repository's pytest settings do not collect doctests by themselves)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "chainrule.torch_compat",
    "chainrule.tensor_methods",
    "chainrule.creation",
    "chainrule.ops.math",
    "chainrule.ops.indexing",
    "chainrule.ops.log_bases",
    "chainrule.ops.masked_scatter",
    "chainrule.ops.trapezoid",
    "chainrule.autograd.custom",
    "chainrule.autograd.functional",
    "chainrule.utils.data",
    "chainrule.utils.iterable_data",
    "chainrule.utils.stack_dataset",
    "chainrule.nn.utils.clip_grad",
    "chainrule.nn.utils.convert_parameters",
    "chainrule.nn.utils.rnn",
    "chainrule.nn.containers_torch",
    "chainrule.io.torch_save",
    # functional normalisation and rearrangement
    "chainrule.ops.fold",
    "chainrule.ops.pixel_shuffle",
    "chainrule.nn.norm_functional",
    "chainrule.nn.rms_norm",
    "chainrule.nn.rearrange",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
    assert result.attempted > 0 or name == "chainrule.tensor_methods"
