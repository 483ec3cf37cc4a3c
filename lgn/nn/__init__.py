"""PyTorch layers of lgn's model families."""

from lgn.nn.binary import SparseXnorLinear, TiledLinear, XnorLinear
from lgn.nn.dendritic import DendriticLinear
from lgn.nn.encoder import ThresholdEncoder
from lgn.nn.groupsum import GroupSum
from lgn.nn.logic import LogicLayer
from lgn.nn.lookup import LookupLayer
from lgn.nn.model import LogicNet, LogicNetConfig
from lgn.nn.stack import FeatureMajor

__all__ = ["DendriticLinear", "FeatureMajor", "GroupSum", "LogicLayer", "LogicNet", "LogicNetConfig", "LookupLayer", "SparseXnorLinear", "ThresholdEncoder", "TiledLinear", "XnorLinear"]
