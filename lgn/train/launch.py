"""``lgn train --processes N``: the data-parallel workers started and their failure reported.

Nothing here imports torch until a run is launched, so a worker's error path stays cheap."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_ERRORS = "LGN_WORKER_ERRORS"  # the folder where launched workers leave their error message


def launch(train_args: list[str], processes: int) -> int:
    """Run ``lgn train *train_args`` in ``processes`` local processes, as
    ``torchrun --standalone --nproc_per_node N -m lgn train ...`` does, and return its exit status.

    The launcher runs in this process so that a failed run ends in one ``lgn: error`` line, not in
    torchrun's report of its failed children: the workers leave their messages with it
    (:func:`hand_error_to_launcher`) and it prints the first failed worker's. Rank 0 writes its
    progress to the console as one process would; the others write to logs kept while it runs.
    Each worker takes its share of the cores (``WORLD_SIZE``)."""
    import logging
    import tempfile
    import uuid

    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs, SignalException, Std
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    quiet = logging.getLogger("torch.distributed.elastic")  # the agent's notes on stopping workers
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    with tempfile.TemporaryDirectory(prefix="lgn-ranks-") as logs:
        config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=processes, run_id=str(uuid.uuid4()),
                              rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0,
                              logs_specs=DefaultLogsSpecs(log_dir=logs, redirects={
                                  r: Std.ALL if r else Std.NONE for r in range(processes)}))
        os.environ[_ERRORS] = logs  # the workers inherit it
        try:
            elastic_launch(config, sys.executable)("-m", "lgn", "train", *train_args)
        except ChildFailedError as e:
            rank, failure = e.get_first_failure()
            messages = {int(p.stem.split("-")[1]): p.read_text() for p in Path(logs).glob("error-*.txt")}
            how = f"signal {-failure.exitcode}" if failure.exitcode < 0 else f"exit status {failure.exitcode}"
            print(messages.get(rank) or next(iter(messages.values()), None)
                  or f"lgn: error: training process {rank} of the data-parallel run stopped ({how})",
                  file=sys.stderr)
            return failure.exitcode if failure.exitcode > 0 else 1
        except SignalException as e:  # Ctrl-C reaches the workers too, and rank 0 says how to resume
            return 128 + e.sigval
        finally:
            del os.environ[_ERRORS]
    return 0


def hand_error_to_launcher(line: str) -> bool:
    """In a worker of :func:`launch`, leave the error ``line`` for the launcher to print once for
    the run; False elsewhere (the caller prints it)."""
    folder = os.environ.get(_ERRORS)
    if folder is None:
        return False
    (Path(folder) / f"error-{os.environ.get('RANK', '0')}.txt").write_text(line)
    return True
