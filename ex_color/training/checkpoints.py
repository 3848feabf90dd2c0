"""Each member of a loop saved as the run of its seed alone would save it, and loaded back (stacked again)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ex_color.errors import UserError
from ex_color.model import member_state


class MemberCheckpoints:
    """What TrainLoop saves and loads: per member, weights, optimizer slice and position."""

    def member_checkpoint(self, index: int) -> dict[str, Any]:
        """Member `index`'s weights, optimizer state and position: what a single run of it would save."""
        stacked = self.members > 1
        optimizer = self.optimizer.state_dict()
        state = {
            key: {
                name: (value[index] if stacked and value.dim() > 0 else value).detach().cpu().clone()
                for name, value in entry.items()
            }
            for key, entry in optimizer["state"].items()
        }
        return {
            "state_dict": {
                f"model.{name}": value for name, value in member_state(self.model, index, self.members).items()
            },
            "optimizer_states": [{"state": state, "param_groups": optimizer["param_groups"]}],
            "global_step": self.step,
        }

    def load_members(self, checkpoints: Sequence[dict[str, Any]]) -> None:
        """Continue from one checkpoint per member (as `member_checkpoint` made them)."""
        if len(checkpoints) != self.members:
            raise ValueError("one checkpoint per member")
        steps = {int(c["global_step"]) for c in checkpoints}
        if len(steps) != 1:
            raise UserError(
                f"the members' checkpoints are at different steps ({sorted(steps)}); cannot resume them together"
            )

        def together(values: list[torch.Tensor]) -> torch.Tensor:
            return torch.stack(values) if self.members > 1 and values[0].dim() > 0 else values[0]

        with torch.no_grad():
            for name, parameter in self.model.named_parameters():
                parameter.copy_(together([c["state_dict"][f"model.{name}"] for c in checkpoints]))
        states = [c["optimizer_states"][0] for c in checkpoints]
        merged = {
            key: {name: together([s["state"][key][name] for s in states]) for name in entry}
            for key, entry in states[0]["state"].items()
        }
        self.optimizer.load_state_dict({"state": merged, "param_groups": states[0]["param_groups"]})
        self._groups = self.optimizer.param_groups  # new dicts: the step sets its learning rate there
        self.step = steps.pop()
        self.rows.restart(self.step, self.recount_labels(self.step))
