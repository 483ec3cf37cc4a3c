import pickle

import pytest
import torch

from lgn.errors import FormatError
from lgn.nn import LogicNet, LogicNetConfig
from lgn.train import checkpoint


def test_round_trip(tmp_path):
    model = LogicNet(LogicNetConfig(6, 2, (8, 4), 2, (0.0, 1.0), 3.0, seed=1))
    checkpoint.save(model, tmp_path / "m.safetensors", {"dataset": "digits"})
    back, info = checkpoint.load(tmp_path / "m.safetensors")
    assert info == {"dataset": "digits"} and not back.training
    x = torch.rand(5, 6)
    torch.testing.assert_close(back(x), model.eval()(x))


class _Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "m.safetensors"
    bad.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(FormatError, match="not a readable lgn checkpoint"):
        checkpoint.load(bad)
    assert not marker.exists()


def test_missing_and_foreign_files_are_rejected(tmp_path):
    with pytest.raises(FormatError, match="does not exist"):
        checkpoint.load(tmp_path / "nope.safetensors")
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(FormatError, match="not a readable lgn checkpoint"):
        checkpoint.load(tmp_path / "other.safetensors")


def test_a_training_state_whose_optimizer_shapes_are_not_the_models_is_refused(tmp_path):
    """A state of the dense mapping form (a score per input) cannot resume the compact one."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    model = LogicNet(LogicNetConfig(64, 10, (40, 20), 1, (0.0, 16.0), 4.0, wiring="local", candidates=0,
                                    image_shape=(8, 8), window=3, seed=1))
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(4, 64)).sum().backward()
    optimizer.step()
    checkpoint.save_state(tmp_path / "state.safetensors", model, optimizer, 1, {"options": {"epochs": 2}})
    assert checkpoint.load_state(tmp_path / "state.safetensors")[2] == 1
    tensors = load_file(tmp_path / "state.safetensors")
    key = next(k for k, v in tensors.items() if k.startswith("optimizer.") and k.endswith("exp_avg") and v.dim() == 3)
    tensors[key] = torch.zeros(tensors[key].shape[0], 64, tensors[key].shape[2])
    with safe_open(tmp_path / "state.safetensors", "pt") as f:
        save_file(tensors, tmp_path / "old.safetensors", metadata=f.metadata())
    with pytest.raises(FormatError, match="optimizer state exp_avg of shape"):
        checkpoint.load_state(tmp_path / "old.safetensors")
