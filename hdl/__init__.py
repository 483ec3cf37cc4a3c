"""Amaranth components that implement IR netlists in hardware (installed as ``lgn.hdl``)."""

from lgn.hdl.argmax import Argmax
from lgn.hdl.classifier import Classifier
from lgn.hdl.core import GateCore
from lgn.hdl.folded_classifier import FoldedClassifier
from lgn.hdl.mvu import MatrixVectorUnit
from lgn.hdl.popcount import Popcount

__all__ = ["Argmax", "Classifier", "FoldedClassifier", "GateCore", "MatrixVectorUnit", "Popcount"]
