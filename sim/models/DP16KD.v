// ECP5 DP16KD block RAM: a behavioural model of its read side, for simulating Yosys-mapped netlists.
//
// Yosys ships DP16KD only as an empty cell, so a mapped design that keeps its weights in block RAM
// would read zeros. This model serves the configurations Yosys' ECP5 memory mapping
// (lattice/brams_map_16kd.v) generates for read-only memories: contents from INITVAL_00..3F (16
// rows of 18 bits per parameter, in 20-bit slots); read ports of 1, 2, 4, 9 or 18 bits on either
// port, or of 36 bits through port B (low half on DOA, high half on DOB; port A is then the write
// side); no output register (REGMODE "NOREG"); output reset by RST. The array is 1024 rows of 18
// bits: a 9-bit word is half a row, and 1-, 2- and 4-bit words pack the 8 data bits of each
// 9-bit half. Writes and other options are not modelled: the model stops the simulation if a
// write is enabled or a configuration it does not cover is instantiated.
module DP16KD(
  input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
  input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
  input CEA, OCEA, CLKA, WEA, RSTA,
  input CSA2, CSA1, CSA0,
  output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
  input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
  input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
  input CEB, OCEB, CLKB, WEB, RSTB,
  input CSB2, CSB1, CSB0,
  output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
    parameter DATA_WIDTH_A = 18;
    parameter DATA_WIDTH_B = 18;
    parameter REGMODE_A = "NOREG";
    parameter REGMODE_B = "NOREG";
    parameter RESETMODE = "SYNC";
    parameter ASYNC_RESET_RELEASE = "SYNC";
    parameter CSDECODE_A = "0b000";
    parameter CSDECODE_B = "0b000";
    parameter WRITEMODE_A = "NORMAL";
    parameter WRITEMODE_B = "NORMAL";
    parameter GSR = "ENABLED";
    parameter CLKAMUX = "CLKA";
    parameter CLKBMUX = "CLKB";
    parameter INIT_DATA = "STATIC";
    parameter WID = 0;
    parameter INITVAL_00 = 320'h0;
    parameter INITVAL_01 = 320'h0;
    parameter INITVAL_02 = 320'h0;
    parameter INITVAL_03 = 320'h0;
    parameter INITVAL_04 = 320'h0;
    parameter INITVAL_05 = 320'h0;
    parameter INITVAL_06 = 320'h0;
    parameter INITVAL_07 = 320'h0;
    parameter INITVAL_08 = 320'h0;
    parameter INITVAL_09 = 320'h0;
    parameter INITVAL_0A = 320'h0;
    parameter INITVAL_0B = 320'h0;
    parameter INITVAL_0C = 320'h0;
    parameter INITVAL_0D = 320'h0;
    parameter INITVAL_0E = 320'h0;
    parameter INITVAL_0F = 320'h0;
    parameter INITVAL_10 = 320'h0;
    parameter INITVAL_11 = 320'h0;
    parameter INITVAL_12 = 320'h0;
    parameter INITVAL_13 = 320'h0;
    parameter INITVAL_14 = 320'h0;
    parameter INITVAL_15 = 320'h0;
    parameter INITVAL_16 = 320'h0;
    parameter INITVAL_17 = 320'h0;
    parameter INITVAL_18 = 320'h0;
    parameter INITVAL_19 = 320'h0;
    parameter INITVAL_1A = 320'h0;
    parameter INITVAL_1B = 320'h0;
    parameter INITVAL_1C = 320'h0;
    parameter INITVAL_1D = 320'h0;
    parameter INITVAL_1E = 320'h0;
    parameter INITVAL_1F = 320'h0;
    parameter INITVAL_20 = 320'h0;
    parameter INITVAL_21 = 320'h0;
    parameter INITVAL_22 = 320'h0;
    parameter INITVAL_23 = 320'h0;
    parameter INITVAL_24 = 320'h0;
    parameter INITVAL_25 = 320'h0;
    parameter INITVAL_26 = 320'h0;
    parameter INITVAL_27 = 320'h0;
    parameter INITVAL_28 = 320'h0;
    parameter INITVAL_29 = 320'h0;
    parameter INITVAL_2A = 320'h0;
    parameter INITVAL_2B = 320'h0;
    parameter INITVAL_2C = 320'h0;
    parameter INITVAL_2D = 320'h0;
    parameter INITVAL_2E = 320'h0;
    parameter INITVAL_2F = 320'h0;
    parameter INITVAL_30 = 320'h0;
    parameter INITVAL_31 = 320'h0;
    parameter INITVAL_32 = 320'h0;
    parameter INITVAL_33 = 320'h0;
    parameter INITVAL_34 = 320'h0;
    parameter INITVAL_35 = 320'h0;
    parameter INITVAL_36 = 320'h0;
    parameter INITVAL_37 = 320'h0;
    parameter INITVAL_38 = 320'h0;
    parameter INITVAL_39 = 320'h0;
    parameter INITVAL_3A = 320'h0;
    parameter INITVAL_3B = 320'h0;
    parameter INITVAL_3C = 320'h0;
    parameter INITVAL_3D = 320'h0;
    parameter INITVAL_3E = 320'h0;
    parameter INITVAL_3F = 320'h0;

    reg [17:0] rows [0:1023];

    task load(input integer block, input [319:0] value);
        integer i;
        for (i = 0; i < 16; i = i + 1)
            rows[block * 16 + i] = value[i * 20 +: 18];
    endtask

    initial begin
        load(0, INITVAL_00);
        load(1, INITVAL_01);
        load(2, INITVAL_02);
        load(3, INITVAL_03);
        load(4, INITVAL_04);
        load(5, INITVAL_05);
        load(6, INITVAL_06);
        load(7, INITVAL_07);
        load(8, INITVAL_08);
        load(9, INITVAL_09);
        load(10, INITVAL_0A);
        load(11, INITVAL_0B);
        load(12, INITVAL_0C);
        load(13, INITVAL_0D);
        load(14, INITVAL_0E);
        load(15, INITVAL_0F);
        load(16, INITVAL_10);
        load(17, INITVAL_11);
        load(18, INITVAL_12);
        load(19, INITVAL_13);
        load(20, INITVAL_14);
        load(21, INITVAL_15);
        load(22, INITVAL_16);
        load(23, INITVAL_17);
        load(24, INITVAL_18);
        load(25, INITVAL_19);
        load(26, INITVAL_1A);
        load(27, INITVAL_1B);
        load(28, INITVAL_1C);
        load(29, INITVAL_1D);
        load(30, INITVAL_1E);
        load(31, INITVAL_1F);
        load(32, INITVAL_20);
        load(33, INITVAL_21);
        load(34, INITVAL_22);
        load(35, INITVAL_23);
        load(36, INITVAL_24);
        load(37, INITVAL_25);
        load(38, INITVAL_26);
        load(39, INITVAL_27);
        load(40, INITVAL_28);
        load(41, INITVAL_29);
        load(42, INITVAL_2A);
        load(43, INITVAL_2B);
        load(44, INITVAL_2C);
        load(45, INITVAL_2D);
        load(46, INITVAL_2E);
        load(47, INITVAL_2F);
        load(48, INITVAL_30);
        load(49, INITVAL_31);
        load(50, INITVAL_32);
        load(51, INITVAL_33);
        load(52, INITVAL_34);
        load(53, INITVAL_35);
        load(54, INITVAL_36);
        load(55, INITVAL_37);
        load(56, INITVAL_38);
        load(57, INITVAL_39);
        load(58, INITVAL_3A);
        load(59, INITVAL_3B);
        load(60, INITVAL_3C);
        load(61, INITVAL_3D);
        load(62, INITVAL_3E);
        load(63, INITVAL_3F);
        if (REGMODE_A != "NOREG" || REGMODE_B != "NOREG" || CLKAMUX != "CLKA" || CLKBMUX != "CLKB") begin
            $display("DP16KD model: configuration not covered (output registers or clock inversion)");
            $finish;
        end
    end

    // The word of `width` bits at `address` (the port's 14 address pins, low ones unused for wide words).
    function [35:0] read(input integer width, input [13:0] address);
        reg [17:0] row;
        integer bit_base;
        begin
            read = 36'b0;
            case (width)
                36: read = {rows[{address[13:5], 1'b1}], rows[{address[13:5], 1'b0}]};
                18: read[17:0] = rows[address[13:4]];
                9: begin
                    row = rows[address[13:4]];
                    read[8:0] = address[3] ? row[17:9] : row[8:0];
                end
                default: begin  // 1, 2 or 4 bits within the 8 data bits of a 9-bit half row
                    row = rows[address[13:4]];
                    bit_base = (address[3] ? 9 : 0) + (address[2:0] & ~(width - 1));
                    read[3:0] = (row >> bit_base) & ((1 << width) - 1);
                end
            endcase
        end
    endfunction

    reg [35:0] out_a = 36'b0, out_b = 36'b0;
    wire [13:0] addr_a = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
    wire [13:0] addr_b = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};

    always @(posedge CLKA) begin
        if (WEA && CEA) begin
            $display("DP16KD model: port A writes are not modelled");
            $finish;
        end
        if (RSTA) out_a <= 36'b0;
        else if (CEA) out_a <= read(DATA_WIDTH_A, addr_a);
    end

    always @(posedge CLKB) begin
        if (WEB && CEB) begin
            $display("DP16KD model: port B writes are not modelled");
            $finish;
        end
        if (RSTB) out_b <= 36'b0;
        else if (CEB) out_b <= read(DATA_WIDTH_B, addr_b);
    end

    // a 36-bit read through port B drives both ports' outputs
    wire [17:0] do_a = DATA_WIDTH_B == 36 ? out_b[17:0] : out_a[17:0];
    wire [17:0] do_b = DATA_WIDTH_B == 36 ? out_b[35:18] : out_b[17:0];
    assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = do_a;
    assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = do_b;
endmodule
