"""A batched seed ensemble: S models of one shape trained together, one tensor operation for all of them.

Seed sweeps repeat one tiny training S times; each step is a few dozen small operations, so S runs one
after another cost S times the per-operation overhead. Stacking the S models' parameters ([S, ...]) and
their batches ([S, B, ...]) runs every operation once for all seeds.

Each seed keeps what a single run would have: its own initial weights (`torch.manual_seed(seed)` before
building the model, as `L.seed_everything` does), its own batches (`BatchSource(seed=seed)`), and every
operation is one whose slices compute the same numbers as the single run's operation (checked bit for bit
by tests/test_ensemble.py against `excolor train`):

* linear layers run as batched products (`baddbmm`, `bmm`), with the weight gradient taken as
  ``gradᵀ · input`` (what `F.linear`'s backward computes; autograd's default for a batched product
  rounds differently); where the CPU BLAS picks another kernel for a batched product than for a single
  one (it depends on the shapes, so it is checked once per shape), that product runs once per member;
* the regularizers are `ex_color.losses`, which take stacked batches;
* the optimizer must be elementwise (Adam and friends; `ELEMENTWISE_OPTIMIZERS`), so stacking cannot
  mix seeds; on CPU, parameters whose size is not a multiple of 16 are stepped per member (see
  `_optimized`).

Bit for bit holds on CPU whenever the batch size is a multiple of 32 (experiment 2.2: 64), for any
layer widths. Otherwise an elementwise CPU kernel (GELU, sigmoid) computes a single run's last few
elements in scalar code that rounds differently from its vector code, and on CUDA batched and single
matrix products use different kernels: there each seed agrees with its single run to rounding (about
1e-6 in the weights after a few hundred steps), not bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ex_color.errors import UserError
from ex_color.losses import RegularizerSet
from ex_color.model import ColorMLP

# Optimizers whose update of each parameter element depends on that element's history alone.
ELEMENTWISE_OPTIMIZERS = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SGD", "RMSprop", "Adagrad", "Adadelta")


@dataclass(frozen=True)
class _Batched:
    """Which products of a stacked linear layer run batched; the others run once per member."""

    forward: bool = True
    grad_x: bool = True
    grad_weight: bool = True
    grad_bias: bool = True


def _batched_products(x: torch.Tensor, weight: torch.Tensor) -> _Batched:
    """For x [S, B, in] and weight [S, out, in] on the CPU: which batched products compute, for every
    member, the numbers of a single run's `F.linear` and its backward pass. A CPU BLAS may pick another
    kernel (another summation order) for a batched product than for a single one, depending on the
    shapes; this is found out on random numbers, against the single run's autograd (`StackedColorMLP`
    asks once per layer and input shape)."""
    if x.device.type != "cpu":
        return _Batched()
    generator = torch.Generator().manual_seed(0)
    size, batch, width = x.shape
    out = weight.shape[1]
    options = {"generator": generator, "dtype": x.dtype}
    xs, ws = torch.randn(size, batch, width, **options), torch.randn(size, out, width, **options)
    bs, grads = torch.randn(size, out, **options), torch.randn(size, batch, out, **options)
    single = []
    with torch.enable_grad():  # called from inside an autograd Function's forward
        for member in range(size):
            xm, wm, bm = (t[member].clone().requires_grad_() for t in (xs, ws, bs))
            output = F.linear(xm, wm, bm)
            output.backward(grads[member])
            single.append((output.detach(), xm.grad, wm.grad, bm.grad))
    reference = [torch.stack(column) for column in zip(*single)]
    with torch.no_grad():
        return _Batched(
            forward=torch.equal(torch.baddbmm(bs.unsqueeze(1), xs, ws.mT), reference[0]),
            grad_x=torch.equal(torch.bmm(grads, ws), reference[1]),
            grad_weight=torch.equal(torch.bmm(grads.mT, xs), reference[2]),
            grad_bias=torch.equal(grads.sum(1), reference[3]),
        )


class _StackedLinear(torch.autograd.Function):
    """``x W_sᵀ + b_s`` for each of S stacked layers: x [S, B, in], W [S, out, in], b [S, out].

    Each product runs batched where that gives a single run's numbers (`_batched_products`), else once
    per member with the single run's operation."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, batched: _Batched) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.batched = batched
        if batched.forward:
            return torch.baddbmm(bias.unsqueeze(1), x, weight.mT)
        return torch.stack([torch.addmm(b, xm, w.t()) for xm, w, b in zip(x, weight, bias)])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        batched: _Batched = ctx.batched
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.bmm(grad, weight) if batched.grad_x else torch.stack([g.mm(w) for g, w in zip(grad, weight)])
        if ctx.needs_input_grad[1]:
            # gradᵀ x, as F.linear's backward computes it (autograd would form xᵀ grad and transpose it).
            if batched.grad_weight:
                grad_weight = torch.bmm(grad.mT, x)
            else:
                grad_weight = torch.stack([g.t().mm(xm) for g, xm in zip(grad, x)])
        if ctx.needs_input_grad[2]:
            grad_bias = grad.sum(1) if batched.grad_bias else torch.stack([g.sum(0) for g in grad])
        return grad_x, grad_weight, grad_bias, None


class StackedColorMLP:
    """S ColorMLPs of one shape as stacked parameters; `forward` also returns the requested layers' outputs.

    The layers are the template's named modules (``encoder``, ``encoder.0`` … ``bottleneck``, ``decoder``),
    the names regularizers use.
    """

    def __init__(self, models: Sequence[ColorMLP]):
        if not models:
            raise ValueError("an ensemble needs at least one model")
        self.template = models[0]
        self.settings = {
            "bottleneck": self.template.bottleneck_dim,
            "hidden": self.template.hidden,
            "normalize": self.template.normalize,
        }
        self.names = [name for name, _ in self.template.named_parameters()]
        self.parameters = {
            name: torch.stack([dict(m.named_parameters())[name].detach() for m in models]).requires_grad_()
            for name in self.names
        }
        self.size = len(models)
        self._batched: dict[tuple, _Batched] = {}  # (layer, input shape) -> its products' form
        self._stages = [name for name in ("encoder", "bottleneck", "decoder") if hasattr(self.template, name)]

    def to(self, device: torch.device) -> StackedColorMLP:
        with torch.no_grad():
            for name in self.names:
                self.parameters[name] = self.parameters[name].to(device).requires_grad_()
        return self

    def forward(self, rgb: torch.Tensor, capture: Sequence[str] = ()) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Outputs [S, B, 3] of rgb [S, B, 3] (training mode), and {layer: output} for `capture`."""
        captured: dict[str, torch.Tensor] = {}
        x = rgb
        for stage in self._stages:
            module = getattr(self.template, stage)
            children = list(module.named_children()) if isinstance(module, nn.Sequential) else [("", module)]
            for child_name, child in children:
                name = f"{stage}.{child_name}" if child_name else stage
                if isinstance(child, nn.Linear):
                    weight = self.parameters[f"{name}.weight"]
                    key = (name, x.shape)
                    batched = self._batched.get(key)
                    if batched is None:
                        batched = self._batched[key] = _batched_products(x, weight)
                    x = _StackedLinear.apply(x, weight, self.parameters[f"{name}.bias"], batched)
                elif isinstance(child, nn.GELU):
                    x = F.gelu(x, approximate=child.approximate)
                elif next(child.parameters(), None) is None:
                    x = child(x)  # parameter-free and rowwise (Sigmoid, L2Normalize)
                else:
                    raise TypeError(f"{name}: {type(child).__name__} has parameters and no stacked form")
                if name in capture:
                    captured[name] = x
            if stage in capture:
                captured[stage] = x
        return x, captured

    def state_dict(self, index: int) -> dict[str, torch.Tensor]:
        """Member `index`'s weights as a ColorMLP state dict (on the CPU)."""
        return {name: self.parameters[name][index].detach().cpu().clone() for name in self.names}

    def model(self, index: int) -> ColorMLP:
        model = ColorMLP(**self.settings)
        model.load_state_dict(self.state_dict(index))
        return model


def check_elementwise(factory: Callable) -> None:
    target = getattr(factory, "func", factory)
    name = getattr(target, "__name__", repr(target))
    if not (isinstance(target, type) and issubclass(target, torch.optim.Optimizer) and name in ELEMENTWISE_OPTIMIZERS):
        raise UserError(
            f"optimizer._target_: {name} cannot train seeds together (its update may mix parameters); "
            f"elementwise optimizers: {', '.join(ELEMENTWISE_OPTIMIZERS)}"
        )


@dataclass
class StepRecord:
    """A stretch of steps' metrics, [steps, S, 2 + n_terms] (loss, recon, each term; NaN: not computed)."""

    first_step: int
    table: np.ndarray


class EnsembleLoop:
    """The training loop of `ColorTrainer`, for stacked models: same schedule, same batches, same maths.

    `batch_sources` are one `BatchSource` per member (its own seed); `run(on_record)` trains every step of
    the timeline and hands `on_record` the metrics every `log_every` steps (and at the end).
    """

    def __init__(
        self,
        model: StackedColorMLP,
        regularizers: RegularizerSet,
        timeline,
        batch_sources: Sequence,
        optimizer: Callable[..., torch.optim.Optimizer],
        device: torch.device,
        log_every: int = 100,
    ):
        from ex_color.training import active_patterns, make_optimizer, schedule_weights

        if len(batch_sources) != model.size:
            raise ValueError("one batch source per ensemble member")
        check_elementwise(optimizer)
        self.model = model.to(device)
        self.regularizers = regularizers
        self.timeline = timeline
        self.sources = list(batch_sources)
        self.device = device
        self.log_every = max(1, int(log_every))
        self.length = timeline.length
        self.lr = [float(v) for v in np.asarray(timeline.values["lr"], dtype=np.float64)]
        self.weights = schedule_weights(timeline, regularizers.names)
        self.active = self.weights != 0
        self.optimizer = make_optimizer(optimizer, self._optimized(), lr=self.lr[0])
        self.block_steps = self.sources[0].block_steps
        self.pattern_at, self.patterns = active_patterns(self.active, regularizers)
        self.tables = [
            torch.tensor(self.weights[:, list(active)], dtype=torch.float32, device=device) for active in self.patterns
        ]
        # Each pattern's columns in a metrics row (loss, recon, then every term).
        self.columns = [torch.tensor([2 + a for a in active], dtype=torch.long, device=device) for active in self.patterns]
        self.stop_requested: Callable[[], bool] = lambda: False

    def _optimized(self) -> list[torch.Tensor]:
        """The tensors the optimizer steps, with persistent gradients (zeroed each step, not freed).

        A CPU optimizer kernel may treat a tensor's last `numel % vector width` elements in scalar code that
        rounds differently (fused Adam does); a stacked parameter would move a member's elements out of that
        tail. So on CPU a parameter whose size is not a multiple of 16 (the widest float vector, AVX-512's,
        so a multiple of every width) is stepped as one view per member, with its gradient a view of the
        stacked gradient. Each tensor costs the optimizer a few microseconds a step, hence not all of them.
        """
        optimized = []
        for stacked in self.model.parameters.values():
            stacked.grad = torch.zeros_like(stacked)
            if stacked[0].numel() % 16 == 0 or stacked.device.type != "cpu":
                optimized.append(stacked)
                continue
            for member, grad in zip(stacked.detach().unbind(0), stacked.grad.unbind(0)):
                member.grad = grad
                optimized.append(member)
        return optimized

    def _block(self, block_index: int, pattern: int):
        """[block_steps, S, B, ...] batches of every member, and their label weights for `pattern`."""
        blocks = [source.block(block_index) for source in self.sources]
        rgb = torch.stack([rgb for rgb, _ in blocks], dim=1).to(self.device)
        labels = torch.stack([labels for _, labels in blocks], dim=1).to(self.device)
        active = self.patterns[pattern]
        weights = self.regularizers.sample_weights(labels, active) if active else None
        return rgb, labels, weights

    def run(self, on_record: Callable[[StepRecord], None]) -> int:
        """Train from step 0; returns the number of steps done (fewer if `stop_requested` said so)."""
        n_terms = len(self.regularizers.names)
        layers = self.regularizers.layers
        gradients = [parameter.grad for parameter in self.model.parameters.values()]
        groups = self.optimizer.param_groups
        pending: list[torch.Tensor] = []
        first = 0
        key = None
        block = None
        step = 0
        for step in range(self.length):
            pattern = self.pattern_at[step]
            active = self.patterns[pattern]
            block_index, offset = divmod(step, self.block_steps)
            if key != (block_index, pattern):
                block, key = self._block(block_index, pattern), (block_index, pattern)
            rgb, labels, weights = block[0][offset], block[1][offset], block[2]
            for group in groups:
                group["lr"] = self.lr[step]

            output, activations = self.model.forward(rgb, layers)
            recon = (output - rgb).square().mean((-2, -1))  # [S]; F.mse_loss's numbers per member
            row = torch.full((self.model.size, 2 + n_terms), float("nan"), device=self.device)
            if active:
                values = self.regularizers.evaluate(activations, labels, active, weights[offset])
                loss = recon + (values * self.tables[pattern][step]).sum(-1)
                row[:, self.columns[pattern]] = values.detach()
            else:
                loss = recon
            row[:, 0], row[:, 1] = loss.detach(), recon.detach()
            torch._foreach_zero_(gradients)
            loss.sum().backward()
            self.optimizer.step()

            pending.append(row)
            if len(pending) == self.log_every or step + 1 == self.length:
                on_record(StepRecord(first, torch.stack(pending).cpu().numpy()))
                pending, first = [], step + 1
            if self.stop_requested():
                if pending:
                    on_record(StepRecord(first, torch.stack(pending).cpu().numpy()))
                return step + 1
        return self.length
