"""The pipeline's stages, one module each. Each reads the previous stage's artifacts from the
output folder (:mod:`lgn.stages.common` names them), writes its own, and extends report.json.

Like a Yosys script's labelled sections, :data:`RUN` is the list ``lgn run`` walks;
``lgn run --from NAME --to NAME`` runs a part of it.
"""

from __future__ import annotations

from lgn.stages.compile import compile_model, compile_stage, import_stage
from lgn.stages.host import host_stage
from lgn.stages.predict import predict
from lgn.stages.sim import sim_stage
from lgn.stages.synth import flash_stage, synth_stage
from lgn.stages.train import resume_stage, train_stage
from lgn.stages.verify import verify_stage

#: The stages ``lgn run`` walks, in order.
RUN: tuple[str, ...] = ("train", "compile", "sim", "synth")

__all__ = ["RUN", "compile_model", "compile_stage", "flash_stage", "host_stage", "import_stage", "predict", "resume_stage", "sim_stage",
           "synth_stage", "train_stage", "verify_stage"]
