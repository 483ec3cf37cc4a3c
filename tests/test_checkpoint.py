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
