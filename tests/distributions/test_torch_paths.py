"""`import torch.distributions...` under install_as_torch, and the names not there yet."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.errors import NotSupportedError

SRC = Path(__file__).resolve().parents[2] / "src"


def test_pytorch_import_paths_resolve_to_chainrule():
    code = textwrap.dedent(
        """
        import chainrule
        chainrule.install_as_torch()
        import torch
        import torch.distributions as D
        from torch.distributions import constraints, kl_divergence
        from torch.distributions.categorical import Categorical
        from torch.distributions.kl import register_kl
        from torch.distributions.normal import Normal
        from torch.distributions.utils import logits_to_probs
        assert D.Normal is Normal is chainrule.distributions.Normal
        assert constraints.positive is chainrule.distributions.constraints.positive
        p = Normal(torch.zeros(2), torch.ones(2))
        print(float(kl_divergence(p, p).sum()), Categorical(logits=torch.zeros(3)).sample().shape)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(SRC))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["0.0", "()"]


def test_missing_distributions_name_the_ones_there_are():
    with pytest.raises(NotSupportedError, match="torch.distributions.Gamma is not supported"):
        cr.distributions.Gamma  # noqa: B018
    assert not hasattr(cr.distributions, "Beta")  # an AttributeError too
    with pytest.raises(AttributeError, match="has no attribute 'Nromal'"):
        cr.distributions.Nromal  # noqa: B018
