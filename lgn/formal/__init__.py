"""Formal equivalence of the emitted RTL with an independent reference netlist written from the IR."""
