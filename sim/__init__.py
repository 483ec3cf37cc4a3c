"""RTL simulation of emitted designs under cocotb (installed as ``lgn.sim``)."""
