"""Tools that prove gradients right: finite-difference gradient checks, and PyTorch's
``torch.testing.assert_close``."""

from chainrule.testing.assert_close import assert_close
from chainrule.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "assert_close", "gradcheck", "gradgradcheck"]
