//! eBPF instructions by hand: `struct bpf_insn` of <linux/bpf.h> and the
//! few builders the demo needs, named after the kernel's own macros in
//! include/linux/filter.h (`BPF_MOV64_REG`, `BPF_LD_ABS`, `BPF_JMP_IMM`,
//! `BPF_EXIT_INSN`...), as workbook::bpf's `bpf_stmt` and `bpf_jump` are
//! named after classic BPF's `BPF_STMT` and `BPF_JUMP`.
//!
//! ```c
//! struct bpf_insn {
//!     __u8  code;        /* opcode */
//!     __u8  dst_reg:4;   /* dest register */
//!     __u8  src_reg:4;   /* source register */
//!     __s16 off;         /* signed offset */
//!     __s32 imm;         /* signed immediate constant */
//! };
//! ```

// The opcode's parts shared with classic BPF (<linux/bpf_common.h>).
pub use libc::{
    BPF_ABS, BPF_ADD, BPF_B, BPF_H, BPF_JA, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_LDX, BPF_MEM,
    BPF_W, BPF_X,
};

// ANCHOR: opcodes
// What eBPF adds (<linux/bpf.h>).
/// The 64-bit ALU class: `BPF_ALU` (0x04) works on the low 32 bits.
pub const BPF_ALU64: u32 = 0x07;
/// Size: a double word, 64 bits.
pub const BPF_DW: u32 = 0x18;
/// ALU operation: `dst = src` (or `= imm`).
pub const BPF_MOV: u32 = 0xb0;
/// Jump operation: `if dst != src` (or `imm`).
pub const BPF_JNE: u32 = 0x50;
/// Jump operation: return from the program, with R0 as its value.
pub const BPF_EXIT: u32 = 0x90;
// ANCHOR_END: opcodes

/// R0 to R10, `BPF_REG_0` to `BPF_REG_10`: R0 is the return value, R1 to
/// R5 a helper's arguments (R1 holds the context, the `struct __sk_buff *`,
/// when the program starts), R6 to R9 survive helper calls, R10 is the
/// read-only frame pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg(u8);

pub const R0: Reg = Reg(0);
pub const R1: Reg = Reg(1);
pub const R6: Reg = Reg(6);
pub const R10: Reg = Reg(10);

// ANCHOR: bpf_insn
/// `struct bpf_insn`, 8 bytes: the two 4-bit register fields share a byte,
/// `dst_reg` in its low half (bitfields fill a byte from its low bits on
/// x86_64, as GCC and clang lay them out).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct bpf_insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

/// `BPF_RAW_INSN(code, dst, src, off, imm)`: any instruction.
pub const fn bpf_raw_insn(code: u32, dst: Reg, src: Reg, off: i16, imm: i32) -> bpf_insn {
    assert!(code <= 0xff, "an eBPF opcode is one byte");
    bpf_insn {
        code: code as u8,
        regs: dst.0 | src.0 << 4,
        off,
        imm,
    }
}
// ANCHOR_END: bpf_insn

/// `BPF_MOV64_REG(dst, src)`: `dst = src`.
pub const fn bpf_mov64_reg(dst: Reg, src: Reg) -> bpf_insn {
    bpf_raw_insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
}

/// `BPF_MOV64_IMM(dst, imm)`: `dst = imm`.
pub const fn bpf_mov64_imm(dst: Reg, imm: i32) -> bpf_insn {
    bpf_raw_insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, R0, 0, imm)
}

/// `BPF_ALU64_IMM(op, dst, imm)`: `dst op= imm`, e.g. `BPF_ADD`.
pub const fn bpf_alu64_imm(op: u32, dst: Reg, imm: i32) -> bpf_insn {
    bpf_raw_insn(BPF_ALU64 | op | BPF_K, dst, R0, 0, imm)
}

/// `BPF_LD_ABS(size, imm)`: classic BPF's `ld [imm]`, kept in eBPF for
/// socket filters: R0 = the packet's bytes at `imm`, in host order. The
/// packet is R6's `sk_buff`; a read past its end ends the program with 0.
pub const fn bpf_ld_abs(size: u32, imm: i32) -> bpf_insn {
    bpf_raw_insn(BPF_LD | size | BPF_ABS, R0, R0, 0, imm)
}

/// `BPF_LDX_MEM(size, dst, src, off)`: `dst = *(size *)(src + off)`.
pub const fn bpf_ldx_mem(size: u32, dst: Reg, src: Reg, off: i16) -> bpf_insn {
    bpf_raw_insn(BPF_LDX | size | BPF_MEM, dst, src, off, 0)
}

/// `BPF_JMP_IMM(op, dst, imm, off)`: `if dst op imm goto pc + 1 + off`.
/// Unlike classic BPF's `jt`/`jf`, one offset, signed: it may go back.
pub const fn bpf_jmp_imm(op: u32, dst: Reg, imm: i32, off: i16) -> bpf_insn {
    bpf_raw_insn(BPF_JMP | op | BPF_K, dst, R0, off, imm)
}

/// `BPF_JMP_A(off)`: `goto pc + 1 + off`.
pub const fn bpf_jmp_a(off: i16) -> bpf_insn {
    bpf_raw_insn(BPF_JMP | BPF_JA, R0, R0, off, 0)
}

/// `BPF_EXIT_INSN()`: return R0.
pub const fn bpf_exit_insn() -> bpf_insn {
    bpf_raw_insn(BPF_JMP | BPF_EXIT, R0, R0, 0, 0)
}

/// The program as the kernel reads it: 8 bytes an instruction, the
/// offset and the immediate little-endian on x86_64.
pub fn to_bytes(program: &[bpf_insn]) -> Vec<u8> {
    program
        .iter()
        .flat_map(|insn| {
            let mut bytes = [insn.code, insn.regs, 0, 0, 0, 0, 0, 0];
            bytes[2..4].copy_from_slice(&insn.off.to_le_bytes());
            bytes[4..].copy_from_slice(&insn.imm.to_le_bytes());
            bytes
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each instruction next to its encoding by LLVM's BPF assembler
    /// (`llvm-mc -triple bpfel -show-encoding`, LLVM 14), whose syntax is
    /// the verifier log's.
    #[test]
    fn instructions_encode_as_llvm_encodes_them() {
        let cases: [(&str, bpf_insn, [u8; 8]); 10] = [
            (
                "r6 = r1",
                bpf_mov64_reg(R6, R1),
                [0xbf, 0x16, 0, 0, 0, 0, 0, 0],
            ),
            ("r0 = 0", bpf_mov64_imm(R0, 0), [0xb7, 0, 0, 0, 0, 0, 0, 0]),
            (
                "r0 = 262144",
                bpf_mov64_imm(R0, 0x40000),
                [0xb7, 0, 0, 0, 0, 0, 0x04, 0],
            ),
            (
                "r0 += 1",
                bpf_alu64_imm(BPF_ADD, R0, 1),
                [0x07, 0, 0, 0, 1, 0, 0, 0],
            ),
            (
                "r0 = *(u16 *)skb[12]",
                bpf_ld_abs(BPF_H, 12),
                [0x28, 0, 0, 0, 0x0c, 0, 0, 0],
            ),
            (
                "r0 = *(u32 *)(r1 + 4096)",
                bpf_ldx_mem(BPF_W, R0, R1, 4096),
                [0x61, 0x10, 0x00, 0x10, 0, 0, 0, 0],
            ),
            (
                "if r0 == 34525 goto +2",
                bpf_jmp_imm(BPF_JEQ, R0, 0x86dd, 2),
                [0x15, 0, 0x02, 0, 0xdd, 0x86, 0, 0],
            ),
            (
                "if r0 != 0 goto -2",
                bpf_jmp_imm(BPF_JNE, R0, 0, -2),
                [0x55, 0, 0xfe, 0xff, 0, 0, 0, 0],
            ),
            ("goto -1", bpf_jmp_a(-1), [0x05, 0, 0xff, 0xff, 0, 0, 0, 0]),
            ("exit", bpf_exit_insn(), [0x95, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for (text, insn, bytes) in cases {
            assert_eq!(to_bytes(&[insn]), bytes, "{text}");
        }
    }

    /// What the kernel reads is what `to_bytes` says: the struct's layout.
    #[test]
    fn the_struct_is_the_kernels_eight_bytes() {
        assert_eq!(std::mem::size_of::<bpf_insn>(), 8);
        let insn = bpf_raw_insn(0xbf, R10, R6, -2, -3);
        // SAFETY: bpf_insn is repr(C), 8 bytes of plain integers, no padding.
        let raw: [u8; 8] = unsafe { std::mem::transmute(insn) };
        assert_eq!(raw.to_vec(), to_bytes(&[insn]));
        assert_eq!(raw, [0xbf, 0x6a, 0xfe, 0xff, 0xfd, 0xff, 0xff, 0xff]);
    }
}
