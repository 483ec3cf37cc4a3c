"""Defaults of a model's options, shared by :class:`lgn.nn.LogicNetConfig` (the library) and
:class:`lgn.train.options.TrainOptions` (the command line), so that one model built both ways is
the same. Light to import: the CLI's parser reads it without torch."""

THRESHOLDS = 3       # input bits per feature (thermometer code)
TAU = 10.0           # GroupSum temperature
WIRING = "unique"
GRAD_FACTOR = 1.0
CANDIDATES = 1       # learned connections: inputs each pin chooses among (1: fixed; 0: the whole pool)
FAMILY = "logic"
WINDOW = 7           # local wiring: side of the square patch a unit reads
