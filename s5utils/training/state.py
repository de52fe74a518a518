"""TrainingState: the one object that owns a run's parts, and knows what a checkpoint of it holds.

    state = TrainingState(model, optimizer, train_loader, test_loader, device, scheduler=scheduler, speed=speed)
    history = fit(state, epochs=20, callbacks=[run, EpochProgress(20)])

fit() and every callback receive it, so nothing is passed twice. Its state_dict() holds the raw model (never
a torch.compile wrapper), optimizer, scheduler, GradScaler, history, step count and every RNG state: a run
restored from it continues bit for bit.
"""

import dataclasses
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from s5utils.training.checkpoint import load_checkpoint, restore_rng_states, rng_states
from s5utils.training.loop import EpochSoFar, LossFn, evaluate, make_grad_scaler, steps_per_epoch, train_one_epoch
from s5utils.training.precision import enable_tf32
from s5utils.training.recipes import Recipe
from s5utils.training.speed import SpeedOptions, compile_for


class TrainingState:
    """Model (and the runner that executes it), optimizer, schedulers, loss, loaders, device, precision, history.

    scheduler steps once per epoch (in the loop), batch_scheduler after every batch (OneCycleLR). speed sets
    autocast (a float16 dtype brings a GradScaler), channels_last and torch.compile; max_batches shortens
    every epoch. step counts optimizer steps over the whole run; batch_log holds (step, loss, lr) of each batch
    of the last epoch trained; partial, the running totals of the epoch under way (EpochSoFar), which a
    checkpoint taken inside an epoch holds with the train loader's place in its pass.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        train_loader,
        test_loader,
        device: torch.device | str = "cpu",
        *,
        scheduler=None,
        batch_scheduler=None,
        loss_fn: LossFn = F.cross_entropy,
        final_predict=None,
        speed: SpeedOptions | None = None,
        max_batches: int | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.speed = speed or SpeedOptions()
        self.model = model.to(self.device)
        if self.speed.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if self.speed.tf32 and self.device.type == "cuda":
            enable_tf32()  # float32 matmuls on TF32 tensor cores (CUDA 8.0 and up), as fit() did before the state
        self.optimizer, self.scheduler, self.batch_scheduler = optimizer, scheduler, batch_scheduler
        self.loss_fn, self.final_predict = loss_fn, final_predict
        self.train_loader, self.test_loader, self.max_batches = train_loader, test_loader, max_batches
        self.grad_scaler = make_grad_scaler(self.speed, self.device)
        self.history: list[dict] = []
        self.step = 0
        self.batch_log: list[tuple[int, float, float]] = []
        self.partial: EpochSoFar | None = None
        self.runner, self.compile_seconds = compile_for(self.model, self.speed, self.device, train_loader, test_loader)

    @classmethod
    def from_recipe(
        cls, recipe: Recipe, model: nn.Module, train_loader, test_loader, device: torch.device | str = "cpu", **options
    ) -> "TrainingState":
        """A state with a Recipe's optimizer, schedulers, loss and final prediction (s5utils.build_recipe)."""
        return cls(
            model,
            recipe.optimizer,
            train_loader,
            test_loader,
            device,
            scheduler=recipe.scheduler,
            batch_scheduler=recipe.batch_scheduler,
            loss_fn=recipe.loss_fn,
            final_predict=recipe.final_predict,
            **options,
        )

    @property
    def epoch(self) -> int:
        """Epochs finished so far."""
        return len(self.history)

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps (batches) in one training epoch, max_batches included."""
        return steps_per_epoch(self.train_loader, self.max_batches)

    @property
    def schedule(self):
        """The scheduler a checkpoint holds: the epoch one, else the batch one (the recipes use one of them)."""
        return self.scheduler if self.scheduler is not None else self.batch_scheduler

    def train_epoch(self, progress: bool = True, after_step=None) -> dict:
        """One pass over the training batches (the `Train: Loss=…` bar); returns train_loss and train_acc.

        A state restored from a checkpoint taken inside an epoch finishes that epoch's pass. after_step(state)
        runs after every optimizer step (RunFolder.checkpoint_if_due saves the epoch so far there).
        """
        if self.partial is None or self.partial.epoch != self.epoch + 1:
            self.partial = EpochSoFar(self.epoch + 1, [group["lr"] for group in self.optimizer.param_groups])
        so_far = self.partial

        def stepped() -> None:
            self.step += 1
            if after_step is not None:
                after_step(self)

        result = train_one_epoch(
            self.runner,
            self.train_loader,
            self.optimizer,
            self.device,
            self.loss_fn,
            self.max_batches,
            progress,
            self.epoch + 1,
            batch_scheduler=self.batch_scheduler,
            amp_dtype=self.speed.amp_dtype,
            channels_last=self.speed.channels_last,
            grad_scaler=self.grad_scaler,
            so_far=so_far,
            after_step=stepped,
        )
        first = self.step - so_far.batches  # the step before the epoch's first, whoever trained its batches
        self.batch_log = [(first + i + 1, loss, lr) for i, (loss, lr) in enumerate(so_far.batch_log)]
        return result

    def evaluate(self, predict=None) -> dict:
        """Loss and accuracy on the test loader, without gradients; predict(model, x) replaces model(x)."""
        return evaluate(
            self.runner,
            self.test_loader,
            self.device,
            self.loss_fn,
            self.max_batches,
            amp_dtype=self.speed.amp_dtype,
            channels_last=self.speed.channels_last,
            predict=predict,
        )

    def state_dict(self) -> dict:
        """Everything a bit-exact continuation needs, as tensors and plain values (weights_only=True reads it)."""
        schedule = self.schedule
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": schedule.state_dict() if schedule is not None else None,
            "grad_scaler": self.grad_scaler.state_dict() if self.grad_scaler is not None else None,
            "history": [dict(row) for row in self.history],
            "step": self.step,
            "rng": rng_states(getattr(self.train_loader, "generator", None)),
            "partial": self._partial_state_dict(),
        }

    def _partial_state_dict(self) -> dict | None:
        """The epoch under way (its totals and the train loader's place in its pass); None between epochs."""
        if self.partial is None or self.partial.epoch != self.epoch + 1:
            return None
        if not hasattr(self.train_loader, "state_dict"):
            raise ValueError(
                f"a checkpoint inside an epoch needs a train loader that can say where it is in its pass "
                f"(s5utils.TensorLoader: data_path 'tensor'); a {type(self.train_loader).__name__} cannot: "
                "leave checkpoint_seconds at None to save after each epoch only"
            )
        return {**dataclasses.asdict(self.partial), "loader": self.train_loader.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Put model, optimizer, scheduler, GradScaler, history, step and every RNG back as state_dict() saved them."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.schedule is not None and state["scheduler"] is not None:
            self.schedule.load_state_dict(state["scheduler"])
        if self.grad_scaler is not None and state.get("grad_scaler"):
            self.grad_scaler.load_state_dict(state["grad_scaler"])
        self.history = [dict(row) for row in state["history"]]
        # Checkpoints written before the step count was saved: every epoch had the same number of steps.
        self.step = state.get("step", len(self.history) * self.steps_per_epoch)
        restore_rng_states(state["rng"], getattr(self.train_loader, "generator", None))
        partial = dict(state.get("partial") or {})
        loader = partial.pop("loader", None)
        self.partial = EpochSoFar(**partial) if partial else None
        if self.partial is not None and self.partial.batches < self.steps_per_epoch:
            self.train_loader.load_state_dict(loader)  # its next pass continues the saved one

    def restore(self, path: str | os.PathLike) -> "TrainingState":
        """Continue from a checkpoint file or run folder (s5utils.load_checkpoint); prints where it resumes."""
        self.load_state_dict(load_checkpoint(path))
        if self.partial is None:
            print(f"Resuming after epoch {self.epoch} from {path}", flush=True)
        else:
            where = f"after batch {self.partial.batches} of {self.steps_per_epoch}"
            print(f"Resuming epoch {self.partial.epoch} {where} from {path}", flush=True)
        return self
