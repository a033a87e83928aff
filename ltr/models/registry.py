"""The registry of network constructors, for every family of networks (ATOM's trackers today;
detectors, re-identification and joint detection-and-embedding networks later): a constructor
registers under its function name with :func:`network_constructor`, and checkpoints rebuild
their network by that name through :func:`build_network`.

Every network a registered constructor builds carries ``net.constructor = {"name": ...,
"kwargs": {...}}`` (all arguments, defaults included, as plain values): the trainer stores it in
checkpoints and :func:`ltr.models.loading.load_network` rebuilds the network from it.

Constructors register when their module is imported. So that a name can be looked up before
anyone imported its module (loading a checkpoint in a fresh process), the lookups first import
the modules of :data:`MODEL_MODULES`: a new family adds its module there.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any, Callable

from torch import nn

# Modules whose constructors register on import; imported on the first lookup.
MODEL_MODULES: tuple[str, ...] = ("ltr.models.tracking.atom", "ltr.models.detection.faster_rcnn",
                                  "ltr.models.reid.network", "ltr.models.fairmot.network")

NETWORK_CONSTRUCTORS: dict[str, Callable[..., nn.Module]] = {}


class UnknownNetworkError(ValueError):
    """A network name that no registered constructor has."""


def _import_model_modules() -> None:
    # Imported here, not at the top: the model modules import this one to register.
    for module in MODEL_MODULES:
        importlib.import_module(module)


def _plain(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item, where) for item in value)
    if isinstance(value, dict):
        return {str(key): _plain(item, where) for key, item in value.items()}
    raise TypeError(f"{where} = {value!r}: constructor arguments must be plain values (numbers, strings, "
                    f"lists, dicts) so that checkpoints can record them")


def network_constructor(function: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Registers ``function`` in :data:`NETWORK_CONSTRUCTORS` under its name and makes the
    networks it builds carry ``net.constructor = {"name", "kwargs"}``. Two constructors of
    one name are an error: checkpoints could not tell them apart."""
    signature = inspect.signature(function)
    name = function.__name__
    previous = NETWORK_CONSTRUCTORS.get(name)
    if previous is not None and previous.__module__ != function.__module__:
        raise ValueError(f"a network constructor named {name!r} is registered by {previous.__module__} already; "
                         f"rename the one in {function.__module__}")

    @functools.wraps(function)
    def build(*args, **kwargs) -> nn.Module:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        recorded = {key: _plain(value, f"{name}({key})") for key, value in bound.arguments.items()}
        net = function(*bound.args, **bound.kwargs)
        net.constructor = {"name": name, "kwargs": recorded}
        return net

    NETWORK_CONSTRUCTORS[name] = build
    return build


def known_networks() -> list[str]:
    """The names of all registered constructors, sorted."""
    _import_model_modules()
    return sorted(NETWORK_CONSTRUCTORS)


def get_constructor(name: str) -> Callable[..., nn.Module]:
    """The registered constructor ``name``; :class:`UnknownNetworkError` naming the known ones."""
    if name not in NETWORK_CONSTRUCTORS:
        _import_model_modules()
    try:
        return NETWORK_CONSTRUCTORS[name]
    except KeyError:
        raise UnknownNetworkError(f"no network constructor is named {name!r}; the known ones are "
                                  f"{', '.join(known_networks())}") from None


def constructor_parameters(name: str) -> list[str]:
    """The argument names of the registered constructor ``name``, in order."""
    return list(inspect.signature(get_constructor(name)).parameters)


def build_network(name: str, kwargs: dict[str, Any] | None = None, /, **more_kwargs: Any) -> nn.Module:
    """Build the network of the registered constructor ``name`` with the keyword arguments of
    ``kwargs`` and ``more_kwargs`` (the latter win)."""
    constructor = get_constructor(name)
    arguments = {**(kwargs or {}), **more_kwargs}
    parameters = inspect.signature(constructor).parameters
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        raise TypeError(f"{name}() takes no argument(s) {', '.join(unknown)}; its arguments are "
                        f"{', '.join(parameters)}")
    return constructor(**arguments)
