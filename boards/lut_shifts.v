// Yosys techmap: a constant shifted by pins to one bit (`k'hTABLE >> {pins}`, how lgn's
// classifier.v writes a LUT node) becomes a $lut cell of that table. Synthesis scripts map such
// shifts through techmap's constant path, one module and its opt passes per distinct table:
// ~5x slower on LUT networks (bench/yosys_tables.py, docs/lut.md). Exact for every such cell: bit 0 of A >> B is
// A[B], 0 past A's width, as the zero-extended table reads. Anything else stays a shift.
(* techmap_celltype = "$shr" *)
module _lgn_constant_shift_to_lut (A, B, Y);
  parameter A_SIGNED = 0;
  parameter B_SIGNED = 0;
  parameter A_WIDTH = 1;
  parameter B_WIDTH = 1;
  parameter Y_WIDTH = 1;
  parameter _TECHMAP_CONSTMSK_A_ = 0;
  parameter _TECHMAP_CONSTVAL_A_ = 0;
  input [A_WIDTH-1:0] A;
  input [B_WIDTH-1:0] B;
  output [Y_WIDTH-1:0] Y;

  // a cell that is not a table keeps its shift; the $lut is only built for one that is (an
  // instance of the wrong width would stop Yosys before it reads _TECHMAP_FAIL_)
  localparam IS_TABLE = !A_SIGNED && !B_SIGNED && Y_WIDTH == 1 && B_WIDTH <= 6 &&
                        _TECHMAP_CONSTMSK_A_ == {A_WIDTH{1'b1}};
  wire _TECHMAP_FAIL_ = !IS_TABLE;
  generate if (IS_TABLE) begin : table
    localparam [(1 << B_WIDTH) - 1:0] TABLE = _TECHMAP_CONSTVAL_A_;
    \$lut #(.WIDTH(B_WIDTH), .LUT(TABLE)) _TECHMAP_REPLACE_ (.A(B), .Y(Y));
  end endgenerate
endmodule
