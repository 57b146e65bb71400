"""``chainrule.nn.modules`` holds PyTorch's ``torch.nn.modules`` import paths, and
``install_as_torch`` aliases them (code that subclasses ``_Loss`` or checks ``_BatchNorm``)."""

import importlib
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.torch_compat import _NN_MODULES, ALIASES


@pytest.mark.parametrize("name", _NN_MODULES)
def test_each_path_imports_and_holds_chainrules_classes(name):
    module = importlib.import_module(f"chainrule.nn.modules.{name}")
    for attr in getattr(module, "__all__", ()):
        value = getattr(module, attr)
        if hasattr(nn, attr):
            assert value is getattr(nn, attr)
    assert ALIASES[f"torch.nn.modules.{name}"] == module.__name__


@pytest.mark.parametrize("name", [n for n in _NN_MODULES if n != "utils"])
def test_public_names_are_pytorchs_where_chainrule_has_the_class(name):
    torch_module = pytest.importorskip(f"torch.nn.modules.{name}")
    ours = importlib.import_module(f"chainrule.nn.modules.{name}")
    expected = [n for n in torch_module.__all__ if hasattr(nn, n)]
    assert [n for n in expected if not hasattr(ours, n)] == []


def test_private_bases_users_reach_for():
    from chainrule.nn.modules.batchnorm import _BatchNorm
    from chainrule.nn.modules.conv import _ConvNd
    from chainrule.nn.modules.instancenorm import _InstanceNorm
    from chainrule.nn.modules.loss import _Loss, _WeightedLoss
    from chainrule.nn.modules.utils import _pair, _single, _triple

    assert all(isinstance(m, _BatchNorm) for m in (nn.BatchNorm1d(2), nn.BatchNorm2d(2)))
    assert isinstance(nn.Conv1d(1, 1, 1), _ConvNd) and isinstance(nn.MSELoss(), _Loss)
    assert isinstance(nn.InstanceNorm2d(2), _InstanceNorm)
    assert (_single(2), _pair(3), _pair((1, 2)), _triple(1)) == ((2,), (3, 3), (1, 2), (1, 1, 1))

    class WeightedMSE(_WeightedLoss):  # a user's loss, written against PyTorch
        def forward(self, input, target):
            return (self.weight * (input - target) ** 2).mean()

    loss = WeightedMSE(weight=cr.tensor([1.0, 3.0]))
    assert list(loss.state_dict()) == ["weight"]
    assert loss(cr.tensor([1.0, 1.0]), cr.tensor([0.0, 0.0])).item() == 2.0
    with pytest.raises(ValueError, match="reduction"):
        WeightedMSE(reduction="avg")


def test_install_as_torch_aliases_the_paths():
    program = (
        "import chainrule, chainrule.nn as ours\n"
        "chainrule.install_as_torch()\n"
        "from torch.nn.modules.loss import _Loss, _WeightedLoss\n"
        "from torch.nn.modules.module import Module\n"
        "from torch.nn.modules.batchnorm import _BatchNorm\n"
        "from torch.nn.parameter import Parameter\n"
        "from torch.nn.common_types import _size_2_t\n"
        "assert Parameter is ours.Parameter\n"
        "import torch.nn.modules.linear, torch.nn.utils.parametrize\n"
        "from torch.nn.utils.parametrizations import weight_norm\n"
        "assert Module is ours.Module and torch.nn.modules.linear.Linear is ours.Linear\n"
        "normed = weight_norm(torch.nn.Linear(2, 3))\n"
        "assert normed.parametrizations.weight.original0.shape == (3, 1)\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True)


def test_nn_modules_linear_computes_as_nn_linear():
    from chainrule.nn.modules.linear import Linear

    layer = Linear(2, 1)
    x = np.ones((1, 2), dtype=np.float32)
    expected = x @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()
    np.testing.assert_allclose(layer(cr.tensor(x)).detach().numpy(), expected)


def test_torch_nn_utils_file_paths_leave_the_functions_in_place():
    # importing torch.nn.utils.weight_norm (PyTorch's file path, for WeightNorm) loaded a second
    # copy of the file and put the module in place of the function nn.utils.weight_norm
    program = (
        "import chainrule, chainrule.nn.utils as ours\n"
        "from chainrule.nn.utils import weight_norm as wn_function\n"
        "chainrule.install_as_torch()\n"
        "from torch.nn.utils.weight_norm import WeightNorm\n"
        "from torch.nn.utils.spectral_norm import SpectralNorm\n"
        "import torch.nn.utils.clip_grad, torch.nn.utils.convert_parameters\n"
        "import sys\n"
        "file = sys.modules['chainrule.nn.utils.weight_norm']\n"
        "assert WeightNorm is file.WeightNorm and callable(ours.weight_norm), ours.weight_norm\n"
        "assert callable(ours.spectral_norm) and ours.weight_norm is wn_function\n"
        "ours.weight_norm(torch.nn.Linear(2, 2))\n"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", program], check=True)
