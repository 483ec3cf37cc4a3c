"""Same inputs and seed, same bytes: checkpoint, IR netlist, Verilog and (same nextpnr seed) bitstream."""

import subprocess
import sys


def test_two_runs_in_different_folders_give_identical_artifacts(tmp_path):
    runs = [tmp_path / "first", tmp_path / "second"]
    for out in runs:
        for args in (["train", "--widths", "100,100", "--thresholds", "2", "--epochs", "2", "--seed", "5"],
                     ["compile"], ["synth", "--pnr-seed", "3"]):
            result = subprocess.run([sys.executable, "-m", "lgn.cli", *args, "--out", str(out)],
                                    capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, result.stderr[-3000:]
    for name in ("model.safetensors", "netlist.safetensors", "classifier.v", "icebreaker.bin"):
        first, second = (out / name for out in runs)
        assert first.read_bytes() == second.read_bytes(), f"{name} differs between identical runs"
