import numpy as np

from lgn.ir import ops

# difflogic's definitions, written out independently of the truth-table encoding.
DIFFLOGIC = [
    lambda a, b: 0, lambda a, b: a & b, lambda a, b: a & (1 - b), lambda a, b: a,
    lambda a, b: (1 - a) & b, lambda a, b: b, lambda a, b: a ^ b, lambda a, b: a | b,
    lambda a, b: 1 - (a | b), lambda a, b: 1 - (a ^ b), lambda a, b: 1 - b, lambda a, b: a | (1 - b),
    lambda a, b: 1 - a, lambda a, b: (1 - a) | b, lambda a, b: 1 - (a & b), lambda a, b: 1,
]


def test_op_codes_follow_difflogic_order():
    for op, f in enumerate(DIFFLOGIC):
        for a in (0, 1):
            for b in (0, 1):
                assert ops.output(op, a, b) == f(a, b), (ops.NAMES[op], a, b)


def test_polynomial_matches_truth_table_on_corners():
    c = ops.polynomial_coefficients()
    for a in (0, 1):
        for b in (0, 1):
            got = c @ np.array([1, a, b, a * b])
            assert np.array_equal(got, [ops.output(op, a, b) for op in range(16)])


def test_polynomial_is_difflogics_relaxation():
    c = ops.polynomial_coefficients()
    a, b = 0.3, 0.8
    assert np.isclose(c[ops.NAMES.index("OR")] @ [1, a, b, a * b], a + b - a * b)
    assert np.isclose(c[ops.NAMES.index("XOR")] @ [1, a, b, a * b], a + b - 2 * a * b)
    assert np.isclose(c[ops.NAMES.index("NOT_A_OR_B")] @ [1, a, b, a * b], 1 - a + a * b)


def test_expressions_compute_their_truth_tables():
    for op, expression in enumerate(ops.EXPRESSIONS):
        for a in (0, 1):
            for b in (0, 1):
                assert eval(expression, {"a": a, "b": b}) & 1 == ops.output(op, a, b), ops.NAMES[op]


def test_rewrite_tables_are_the_rewrites_they_name():
    for op in range(16):
        for a in (0, 1):
            for b in (0, 1):
                assert ops.output(ops.FLIP_A[op], a, b) == ops.output(op, 1 - a, b)
                assert ops.output(ops.FLIP_B[op], a, b) == ops.output(op, a, 1 - b)
                assert ops.output(ops.SWAP[op], a, b) == ops.output(op, b, a)
                assert ops.output(ops.SAME[op], a, a) == ops.output(op, a, a)
                for c in (0, 1):
                    assert ops.output(ops.FIX_A[c, op], a, b) == ops.output(op, c, b)
                    assert ops.output(ops.FIX_B[c, op], a, b) == ops.output(op, a, c)
        assert ops.USES_A[op] == any(ops.output(op, 0, b) != ops.output(op, 1, b) for b in (0, 1))
