"""TensorBoard logging of one run: scalars per epoch and per batch, hyperparameters, the misclassified digits.

One x axis everywhere: every value is logged at the global optimizer step (state.step, batches done in the
whole run), so batch and epoch curves line up and a resumed run continues the same axis.
  per epoch, at the epoch's last step: Loss/train, Loss/test, Accuracy/train, Accuracy/test (%),
    LR/epoch (the lr at the epoch's start), Time/epoch_seconds and `epoch` (1-based: reads a step as an epoch);
  per batch, thinned: Loss/train_batch, LR/batch at the steps divisible by ceil(epochs * steps_per_epoch / 1000),
    so at most 1,000 points per tag, the same steps after a resume;
  at finish: Run/status (text); if completed, Mistakes/test (up to 24 misclassified test digits, if any).

Hyperparameters go into the run's own event file (SummaryWriter.add_hparams makes a subfolder per call,
pytorch/pytorch#32651): the HParams session-start record when the writer opens, the session-end record
(STATUS_SUCCESS) when finish() sees "completed". Values are made plain the same way in every run: None -> "None",
lists and other objects -> str, bools stay bools (torch's summary.hparams drops None and makes bools numbers).
A run writes no experiment record: TensorBoard then takes the hyperparameters from the runs' session records and
the metrics from their scalar tags. A sweep declares its own once, at its root (write_sweep_experiment): the varied
hyperparameters with their values and the metrics Accuracy/test and Loss/test (the table shows each one's last
logged value). Records in the runs would compete with it: the data server picks one arbitrarily.
"failed" and "interrupted" write no session-end record: TensorBoard keeps the first record of a tag, so it
would hide the success of a later resume; such a run shows STATUS_UNKNOWN, like a killed one.

Resume: every writer opens with purge_step at its process's first step (batch_log[0][0]), which writes a
SessionLog START there. The server counts a run's first START as its start and purges on the later ones
(EventAccumulator on each), so a resumed run drops what a killed process logged from that step on: one value
per step. The new writer's file is a second event file in the folder; the old writer died with its process.
A logger that logged no epoch writes nothing at finish (no event file).
"""

import math
import time
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2, summary_v2
from torch.utils.tensorboard import SummaryWriter

from s5utils.study.mistakes import gallery, predict

EPOCH_TAGS = {
    "Loss/train": "train_loss",
    "Loss/test": "test_loss",
    "Accuracy/train": "train_acc",
    "Accuracy/test": "test_acc",
    "LR/epoch": "lr",
    "Time/epoch_seconds": "seconds",
    "epoch": "epoch",
}
MAX_BATCH_POINTS = 1000


def plain_hparams(hparams: dict) -> dict:
    """hparams as values the HParams plugin keeps: bool, int, float and str stay, None and the rest become str."""
    return {k: _plain(v) for k, v in hparams.items()}


def _plain(value):
    """One hyperparameter value as the HParams plugin keeps it: bool, int, float, str; anything else as str."""
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def batch_stride(epochs: int, steps_per_epoch: int) -> int:
    """Log a batch when its step is a multiple of this: at most MAX_BATCH_POINTS points over the whole run."""
    return max(1, math.ceil(epochs * steps_per_epoch / MAX_BATCH_POINTS))


def _summary(tag: str, data: plugin_data_pb2.HParamsPluginData) -> summary_pb2.Summary:
    """One HParams plugin record (its content lives in the summary metadata, its tensor is empty)."""
    return summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(
                tag=tag, metadata=metadata.create_summary_metadata(data), tensor=metadata.NULL_TENSOR
            )
        ]
    )


def _hparam_info(name: str, values: list) -> api_pb2.HParamInfo:
    """A declared hyperparameter: its type from its values, and those values as its (discrete) domain."""
    info = api_pb2.HParamInfo(name=name)
    kinds = {type(v) for v in values}
    if kinds and kinds <= {int, float}:
        info.type, values = api_pb2.DATA_TYPE_FLOAT64, [float(v) for v in values]
    elif kinds == {bool} or kinds == {str}:
        info.type = api_pb2.DATA_TYPE_BOOL if kinds == {bool} else api_pb2.DATA_TYPE_STRING
    else:
        return info  # mixed types (None -> "None" next to numbers): declared without type or domain
    info.domain_discrete.extend(sorted(set(values)))
    return info


def _experiment(hparam_values: dict, metrics) -> summary_pb2.Summary:
    """The HParams experiment record: the hyperparameters (name -> values) and metrics (scalar tags) to show."""
    experiment = api_pb2.Experiment(
        hparam_infos=[_hparam_info(k, v) for k, v in hparam_values.items()],
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in metrics],
        time_created_secs=time.time(),
    )
    return _summary(metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment))


class TensorBoardLogger:
    """A fit() callback: logger(state) after each epoch logs it to log_dir; finish(state, status) at the end."""

    def __init__(self, log_dir: str | Path, hparams: dict, epochs: int) -> None:
        self.log_dir, self.epochs = Path(log_dir), epochs  # epochs planned: how thin the batch curves are
        self.hparams = plain_hparams(hparams)
        self.writer: SummaryWriter | None = None  # opened by the first call, in the process that trains

    def _open(self, state) -> SummaryWriter:
        """The run folder's one writer; purges what an earlier process logged from this process's first step on."""
        first_step = state.batch_log[0][0] if state.batch_log else state.step - state.steps_per_epoch + 1
        writer = SummaryWriter(str(self.log_dir), purge_step=first_step)  # a SessionLog START at first_step
        writer.file_writer.add_summary(summary_v2.hparams_pb(self.hparams))
        return writer

    def __call__(self, state) -> None:
        """Log the epoch just done (state.history[-1]) and its batches (state.batch_log), then flush."""
        if self.writer is None:
            self.writer = self._open(state)
        row = state.history[-1]
        for tag, key in EPOCH_TAGS.items():
            self.writer.add_scalar(tag, row[key], state.step)
        stride = batch_stride(self.epochs, state.steps_per_epoch)
        for step, loss, lr in state.batch_log:
            if step % stride == 0:
                self.writer.add_scalar("Loss/train_batch", loss, step)
                self.writer.add_scalar("LR/batch", lr, step)
        self.writer.flush()

    def finish(self, state, status: str = "completed") -> None:
        """Write the run's status; if "completed" also its session end and misclassified digits; then close."""
        if self.writer is None:
            return
        try:
            self.writer.add_text("Run/status", status, state.step)
            if status != "completed":
                return  # no test pass after an error or a Ctrl-C
            end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS, end_time_secs=time.time())
            self.writer.file_writer.add_summary(
                _summary(metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=end))
            )
            wrong = predict(
                state.model,
                state.test_loader,
                state.device,
                max_batches=state.max_batches,
                amp_dtype=state.speed.amp_dtype,
                channels_last=state.speed.channels_last,
            ).wrong()
            if len(wrong):
                self.writer.add_figure("Mistakes/test", gallery(wrong, n=24), global_step=state.step)  # closes it
        finally:
            self.close()

    def close(self) -> None:
        """Close the writer, if one is open (safe to call twice)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def write_sweep_experiment(
    root: str | Path, hparam_values: dict[str, list], metrics: tuple[str, ...] = ("Accuracy/test", "Loss/test")
) -> Path:
    """Declare a sweep's varied hyperparameters (name -> values) and metrics in an event file at its root."""
    root = Path(root)
    before = set(root.glob("events.out.tfevents.*"))
    plain = {k: [_plain(v) for v in values] for k, values in hparam_values.items()}
    writer = SummaryWriter(str(root))
    try:
        writer.file_writer.add_summary(_experiment(plain, metrics))
    finally:
        writer.close()
    (path,) = set(root.glob("events.out.tfevents.*")) - before
    return path


def read_scalars(run_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag of a run folder as (step, value) pairs, read back the way TensorBoard does (purges included)."""
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
