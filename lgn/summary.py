"""The table every command ends with, rendered from report.json."""

from __future__ import annotations


def summary(rep: dict) -> str:
    """A table of the figures a person looks at after a run."""
    def frac(key: str) -> str:
        v = rep.get("accuracy", {}).get(key)
        return "-" if v is None else f"{v:.4f}"

    def pair(key: str) -> str:
        v = rep.get("bit_exact", {}).get(key)
        return "-" if v is None else f"{v[0]}/{v[1]}" + ("" if v[0] == v[1] else "  MISMATCH")

    def sizes(key: str) -> str:
        v = rep.get(key, {})
        return f"{v.get('hardened', v.get('trained', '-'))} / {v.get('netlist', '-')}"

    s = rep.get("synth", {})
    folded = rep.get("hdl", {}).get("folded_layers", [])
    rows = [
        ("dataset", f"{rep.get('dataset', '-')} ({rep.get('test_samples', '-')} test samples)"),
        *([("gates (hardened / optimised)", sizes("gates"))] if any(rep.get("gates", {}).values())
          or not any(any(rep.get(k, {}).values()) for k in ("threshold_units", "lut_nodes")) else []),
        *([("threshold units (hardened / opt.)", sizes("threshold_units"))]
          if any(rep.get("threshold_units", {}).values()) else []),
        *([("LUT nodes (hardened / optimised)", sizes("lut_nodes"))] if any(rep.get("lut_nodes", {}).values()) else []),
        *([("folded layers / BRAM bits", f"{', '.join(str(f['layer']) for f in folded)} / "
                                          f"{rep['hdl']['bram_bits']:,} ({rep['hdl']['cycles_per_inference']} cycles "
                                          "per inference)")] if folded else []),
        ("accuracy trained (relaxed)", frac("trained")),
        ("accuracy hardened (torch)", frac("hardened")),
        ("accuracy netlist (executor)", frac("netlist")),
        ("accuracy rtl (simulation)", frac("rtl")),
        ("bit-exact netlist vs torch", pair("netlist_vs_torch")),
        ("bit-exact rtl vs netlist", pair("rtl_vs_netlist")),
    ]
    if "import" in rep:
        rows.insert(1, ("imported from", f"{rep['import']['format']} {rep['import']['state_dict']}"))
        rows.insert(-2, ("bit-exact netlist vs import", pair("netlist_vs_import_random")))
    if "postsynth_vs_netlist" in rep.get("bit_exact", {}):  # after the import rows: they count from the end
        rows += [("accuracy post-synthesis", frac("postsynth")),
                 ("bit-exact post-synth vs netlist", pair("postsynth_vs_netlist"))]
    if mapping := rep.get("hdl", {}).get("mapping"):  # Design.describe, as compile planned it
        rows.append(("hardware mapping", mapping + (" (--pipeline auto)" if "pipeline_choice" in rep["hdl"] else "")))
    for part, proof in rep.get("formal", {}).items():
        rows.append((f"formal {part} vs netlist", f"{proof['status']} ({proof['wall_s']} s)"))
    if s:
        rows += [
            ("device", s["device"]),
            ("LUTs / FFs / carry", f"{s['luts']} / {s['ffs']} / {s['carries']}"),
            ("logic cells / block RAMs", f"{s['logic_cells']} of {s['logic_cells_available']} "
                                         f"({100 * s['logic_cells'] / s['logic_cells_available']:.0f}%) / {s['bram']}"),
            ("Fmax", f"{s['fmax_mhz']} MHz ({'target' if not s['bitstream'] else 'board clock'} {s['clock_mhz']} MHz"
                     + (f", {s['path_cycles']} cycles to settle)" if s["path_cycles"] > 1 else ")")),
            ("latency / throughput", f"{s['latency_cycles']} cycles / {s['inferences_per_s']:,.0f} inferences/s at Fmax"
                                     + (f", {s['board_inferences_per_s']:,.0f} at the board clock"
                                        if s.get("board_inferences_per_s") else "")
                                     + ((" (sequenced, streamed)" if rep.get("hdl", {}).get("stream") else
                                         " (sequenced, folded layers)") if s.get("cycles_per_inference", 1) > 1
                                        else f" (pipeline {s['pipeline']})" if s["pipeline"] else " (combinational)")),
            ("bitstream", s["bitstream"] or "none (out of context)"),
        ]
        if parts := s.get("breakdown"):
            rows.insert(-4, ("LUT4 / FF by part", ", ".join(f"{name} {parts[name]['luts']:,} / {parts[name]['ffs']:,}"
                                                             for name in ("core", "head", "top"))))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)
