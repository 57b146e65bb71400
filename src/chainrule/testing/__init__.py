"""Tools that prove gradients right: finite-difference gradient checks."""

from chainrule.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
