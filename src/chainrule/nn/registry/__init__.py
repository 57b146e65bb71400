"""Architectures as plain JSON-able dicts, and back, for saving models without pickle.

``module_to_config`` describes a model built from chainrule's own layers::

    {"type": "Sequential", "children": [
        {"type": "Linear", "args": {"in_features": 2, "out_features": 1, "bias": true,
                                    "dtype": "float32"}},
        {"type": "Sigmoid", "args": {}}]}

``module_from_config`` rebuilds it. A config read from a file is untrusted: only the layer types
in an allow-list are built, every argument is checked for type and range against that layer's
schema, unknown keys are refused, nesting and total size are bounded, and every problem raises
:class:`~chainrule.errors.ModelFormatError` before any layer is made. Nothing is called by name
but the constructors of classes registered with ``@nn.register``, and a module is imported only
when the caller names it (``import_from``).

The files: ``checks`` (limits and argument checks), ``schema_dense``, ``schema_spatial``,
``schema_recurrent``, ``schema_attention`` and ``schema_extra`` (what each layer takes),
``layers`` (the allow-list, merged, and parameter counts), ``custom`` (your own classes, opted
in with ``@nn.register``), ``to_config`` and ``from_config`` (the two directions).
"""

from chainrule.nn.registry.checks import MAX_DEPTH, MAX_PARAMETERS, SHARED
from chainrule.nn.registry.custom import register
from chainrule.nn.registry.from_config import module_from_config
from chainrule.nn.registry.to_config import module_to_config

__all__ = [
    "MAX_DEPTH",
    "MAX_PARAMETERS",
    "SHARED",
    "module_from_config",
    "module_to_config",
    "register",
]
