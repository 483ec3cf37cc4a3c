"""Defaults of a model's options, shared by :class:`lgn.nn.LogicNetConfig` (the library) and
:class:`lgn.train.options.TrainOptions` (the command line), so that one model built both ways is
the same. Light to import: the CLI's parser reads it without torch."""

THRESHOLDS = 3       # input bits per feature (thermometer code)
TAU = 10.0           # GroupSum temperature
WIRING = "unique"
GRAD_FACTOR = 1.0
CANDIDATES = 1       # learned connections: inputs each pin chooses among (1: fixed; 0: the whole pool)
FAMILY = "logic"
TILES = 1            # tiled family: copies of each layer's weight tile
BRANCHES = 4         # dendritic family: branches per neuron
SYNAPSES = 6         # dendritic family: synapses per branch; sparse: inputs per neuron
WINDOW = 7           # local wiring: side of the square patch a unit reads
LUT_INPUTS = 4       # lut family: inputs per lookup table (4: one LUT4 cell)
