"""The optimizer a run trains with: fused Adam where it can, and only elementwise ones for seeds together."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ex_color.errors import UserError

# Optimizers whose update of each parameter element depends on that element's history alone.
ELEMENTWISE_OPTIMIZERS = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SGD", "RMSprop", "Adagrad", "Adadelta")


def check_elementwise(factory: Callable) -> None:
    """UserError unless `factory` makes an optimizer that cannot mix stacked members."""
    target = getattr(factory, "func", factory)
    name = getattr(target, "__name__", repr(target))
    if not (isinstance(target, type) and issubclass(target, torch.optim.Optimizer) and name in ELEMENTWISE_OPTIMIZERS):
        raise UserError(
            f"optimizer._target_: {name} cannot train seeds together (its update may mix parameters); "
            f"elementwise optimizers: {', '.join(ELEMENTWISE_OPTIMIZERS)}"
        )


def make_optimizer(factory: Callable[..., torch.optim.Optimizer], params, lr: float) -> torch.optim.Optimizer:
    """The configured optimizer; Adam and AdamW run their fused kernel (one pass over all parameters) unless
    the config picks an implementation (`fused`, `foreach`, `differentiable`) or the device has none."""
    params = list(params)
    target = getattr(factory, "func", factory)
    chosen = set(getattr(factory, "keywords", None) or ()) & {"fused", "foreach", "differentiable"}
    if target in (torch.optim.Adam, torch.optim.AdamW) and not chosen:
        try:
            return factory(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # no fused kernel for these parameters
            pass
    return factory(params, lr=lr)
