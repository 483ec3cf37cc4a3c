"""The IR netlist, its file format and its reference executor."""
