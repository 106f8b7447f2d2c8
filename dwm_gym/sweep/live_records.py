"""Records written while a sweep runs: a Tune callback that records each trial as soon as it finishes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: The file in an experiment's folder naming the records folder of the run that drives it now. Tune keeps an
#: experiment's callbacks in its state, so a restored one runs the callback it was started with: the folder is read
#: from here at each trial's end, not taken from the callback.
RECORDS_POINTER = "records_folder.txt"


def record_each_finished_trial(tune: Any, datasets: dict[str, str], experiment: Path) -> Any:
    """A Tune callback writing a trial's record the moment it finishes, not only when the whole sweep ends.

    A long sweep that stops (a session's end, a lost head node) thus leaves its finished trials' records on disk,
    ready to commit; :func:`dwm_gym.sweep.runner.run_trials` writes them again at the end (same trial: the record
    is replaced). A failure here is logged and does not stop the sweep.

    Args:
        tune: The ``ray.tune`` module (the package imports Ray only when a sweep runs).
        datasets: Each trial's dataset, by trial name (its record goes to ``<dataset>.jsonl``).
        experiment: The experiment's folder, which holds :data:`RECORDS_POINTER`.

    Returns:
        The callback, for ``RunConfig(callbacks=...)``.
    """
    from dwm_gym.sweep.records import write_records
    from dwm_gym.sweep.trial import finished_record

    class RecordEachFinishedTrial(tune.Callback):
        def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            """Writes the finished trial's record to the folder :data:`RECORDS_POINTER` names."""
            name = trial.config["trial"]["name"]
            try:
                record = finished_record(trial.checkpoint)
                if record is not None:
                    folder = Path((experiment / RECORDS_POINTER).read_text().strip())
                    write_records(folder, [(datasets[name], record)])
            except Exception:  # the record is written again at the end; a sweep must not die of it
                logger.exception("could not write the record of %s now (it is written when the sweep ends)", name)

    return RecordEachFinishedTrial()
