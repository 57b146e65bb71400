"""The docstring examples of the convolution and image-data modules run and print what they
say."""

import doctest
import importlib

import pytest

MODULES = [
    "chainrule.ops.conv",
    "chainrule.ops.pooling",
    "chainrule.nn.conv",
    "chainrule.nn.pooling",
    "chainrule.nn.spatial",
    "chainrule.data.idx",
    "chainrule.data.images",
    "chainrule.data.transforms",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0 or name == "chainrule.data.images"
