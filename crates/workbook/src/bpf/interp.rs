//! A classic BPF interpreter for socket filters, with the kernel's rules.
//!
//! [`check`] refuses what the kernel's `bpf_check_classic()` refuses, and
//! [`run`] executes a checked program on a packet the way a socket filter
//! runs in the kernel (which nowadays translates classic BPF to eBPF first,
//! in `bpf_convert_filter()`): registers A and X, sixteen words of scratch
//! memory, big-endian packet loads, and a return value that says how many
//! bytes of the packet to keep. It records A and X after every instruction,
//! so a demo can show the program at work.
//!
//! Where the kernel's behaviour is surprising, the interpreter follows the
//! kernel and says so:
//!
//! - Loads past the end of the packet do not fault: the program ends and
//!   returns 0, so the packet is dropped.
//! - Division or modulo by X == 0 ends the program with 0 as well; division by
//!   a constant 0 never runs, because the checker refuses it.
//! - Shifts by X use the low five bits of X (`A << 33` is `A << 1`): the
//!   eBPF interpreter masks with `& 31` and the x86 and arm64 JITs use
//!   instructions that do the same. Shifts by a constant of 32 or more are
//!   refused by the checker.
//! - Loads at `k >= SKF_AD_OFF` (0xfffff000) read packet metadata (protocol,
//!   interface index, a random number, ...), which a byte slice does not
//!   have: the run ends with [`End::Ancillary`] instead.

use std::fmt;

use anyhow::{anyhow, bail, Result};
use libc::{
    BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_DIV, BPF_H, BPF_IMM, BPF_IND, BPF_JA,
    BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH,
    BPF_MEM, BPF_MISC, BPF_MOD, BPF_MSH, BPF_MUL, BPF_NEG, BPF_OR, BPF_RET, BPF_RSH, BPF_ST,
    BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_XOR,
};

use super::sock_filter;

/// `BPF_MAXINSNS`: the longest program the kernel accepts.
pub const MAX_INSNS: usize = libc::BPF_MAXINSNS as usize;
/// `BPF_MEMWORDS`: the scratch memory M[0..16].
pub const MEMWORDS: usize = libc::BPF_MEMWORDS as usize;
/// `SKF_AD_OFF`: absolute loads from here up read metadata, not the packet.
pub const SKF_AD_OFF: u32 = libc::SKF_AD_OFF as u32;

/// Every opcode `chk_code_allowed()` lets through. Classic BPF has spare
/// bits in its encoding, and the kernel refuses a code with any of them set
/// rather than guess, so this is a list of exact values, not a field decoder.
const ALLOWED: [u32; 49] = [
    BPF_ALU | BPF_ADD | BPF_K,
    BPF_ALU | BPF_ADD | BPF_X,
    BPF_ALU | BPF_SUB | BPF_K,
    BPF_ALU | BPF_SUB | BPF_X,
    BPF_ALU | BPF_MUL | BPF_K,
    BPF_ALU | BPF_MUL | BPF_X,
    BPF_ALU | BPF_DIV | BPF_K,
    BPF_ALU | BPF_DIV | BPF_X,
    BPF_ALU | BPF_MOD | BPF_K,
    BPF_ALU | BPF_MOD | BPF_X,
    BPF_ALU | BPF_AND | BPF_K,
    BPF_ALU | BPF_AND | BPF_X,
    BPF_ALU | BPF_OR | BPF_K,
    BPF_ALU | BPF_OR | BPF_X,
    BPF_ALU | BPF_XOR | BPF_K,
    BPF_ALU | BPF_XOR | BPF_X,
    BPF_ALU | BPF_LSH | BPF_K,
    BPF_ALU | BPF_LSH | BPF_X,
    BPF_ALU | BPF_RSH | BPF_K,
    BPF_ALU | BPF_RSH | BPF_X,
    BPF_ALU | BPF_NEG,
    BPF_LD | BPF_W | BPF_ABS,
    BPF_LD | BPF_H | BPF_ABS,
    BPF_LD | BPF_B | BPF_ABS,
    BPF_LD | BPF_W | BPF_LEN,
    BPF_LD | BPF_W | BPF_IND,
    BPF_LD | BPF_H | BPF_IND,
    BPF_LD | BPF_B | BPF_IND,
    BPF_LD | BPF_IMM,
    BPF_LD | BPF_MEM,
    BPF_LDX | BPF_W | BPF_LEN,
    BPF_LDX | BPF_B | BPF_MSH,
    BPF_LDX | BPF_IMM,
    BPF_LDX | BPF_MEM,
    BPF_ST,
    BPF_STX,
    BPF_MISC | BPF_TAX,
    BPF_MISC | BPF_TXA,
    BPF_RET | BPF_K,
    BPF_RET | BPF_A,
    BPF_JMP | BPF_JA,
    BPF_JMP | BPF_JEQ | BPF_K,
    BPF_JMP | BPF_JEQ | BPF_X,
    BPF_JMP | BPF_JGE | BPF_K,
    BPF_JMP | BPF_JGE | BPF_X,
    BPF_JMP | BPF_JGT | BPF_K,
    BPF_JMP | BPF_JGT | BPF_X,
    BPF_JMP | BPF_JSET | BPF_K,
    BPF_JMP | BPF_JSET | BPF_X,
];

/// An allowed opcode, taken apart once so that [`check`] and [`run`] match
/// on meaning instead of bit patterns. Sizes are in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    LdImm,
    LdAbs(u32),
    LdInd(u32),
    LdLen,
    LdMem,
    LdxImm,
    LdxLen,
    LdxMem,
    LdxMsh,
    St,
    Stx,
    /// `BPF_OP()` and whether the operand is X (else k).
    Alu(u32, bool),
    Neg,
    Ja,
    /// `BPF_OP()` and whether the operand is X (else k).
    Jump(u32, bool),
    RetK,
    RetA,
    Tax,
    Txa,
}

fn decode(code: u16) -> Option<Op> {
    let c = u32::from(code);
    if !ALLOWED.contains(&c) {
        return None;
    }
    let size = match c & 0x18 {
        BPF_W => 4,
        BPF_H => 2,
        _ => 1,
    };
    let by_x = c & BPF_X != 0;
    let op = c & 0xf0;
    Some(match c & 0x07 {
        BPF_LD => match c & 0xe0 {
            BPF_IMM => Op::LdImm,
            BPF_ABS => Op::LdAbs(size),
            BPF_IND => Op::LdInd(size),
            BPF_MEM => Op::LdMem,
            _ => Op::LdLen,
        },
        BPF_LDX => match c & 0xe0 {
            BPF_IMM => Op::LdxImm,
            BPF_MEM => Op::LdxMem,
            BPF_LEN => Op::LdxLen,
            _ => Op::LdxMsh,
        },
        BPF_ST => Op::St,
        BPF_STX => Op::Stx,
        BPF_ALU if op == BPF_NEG => Op::Neg,
        BPF_ALU => Op::Alu(op, by_x),
        BPF_JMP if op == BPF_JA => Op::Ja,
        BPF_JMP => Op::Jump(op, by_x),
        BPF_RET if c & 0x18 == BPF_A => Op::RetA,
        BPF_RET => Op::RetK,
        _ if c & 0xf8 == BPF_TAX => Op::Tax,
        _ => Op::Txa,
    })
}

/// The ancillary loads the kernel knows (`SKF_AD_PROTOCOL` ..
/// `SKF_AD_VLAN_TPID`): offsets 0, 4, ..., 60 past `SKF_AD_OFF`. Any other
/// load at or above `SKF_AD_OFF` is refused when the filter is attached.
fn known_ancillary(k: u32) -> bool {
    let off = k - SKF_AD_OFF;
    off.is_multiple_of(4) && off < libc::SKF_AD_MAX as u32
}

/// Refuse what the kernel refuses on `SO_ATTACH_FILTER`, with `EINVAL`:
/// the checks of `bpf_check_basics_ok()`, `bpf_check_classic()` and
/// `check_load_and_stores()`, in their order. The message names the
/// instruction as `tcpdump -d` numbers it.
pub fn check(program: &[sock_filter]) -> Result<()> {
    let len = program.len();
    if len == 0 || len > MAX_INSNS {
        bail!("a classic BPF program has 1 to {MAX_INSNS} instructions, this one has {len}");
    }
    for (pc, insn) in program.iter().enumerate() {
        let k = insn.k;
        let op = decode(insn.code)
            .ok_or_else(|| anyhow!("({pc:03}): unknown opcode {:#06x}", insn.code))?;
        match op {
            Op::Alu(BPF_DIV | BPF_MOD, false) if k == 0 => {
                bail!("({pc:03}): division by the constant 0")
            }
            Op::Alu(BPF_LSH | BPF_RSH, false) if k >= 32 => {
                bail!("({pc:03}): shift by {k}, more than a 32-bit register holds")
            }
            Op::LdMem | Op::LdxMem | Op::St | Op::Stx if k as usize >= MEMWORDS => {
                bail!("({pc:03}): M[{k}] is outside the scratch memory M[0..{MEMWORDS}]")
            }
            // Compared in u64: the kernel's `k >= flen - pc - 1` cannot
            // overflow either, and a k near u32::MAX must not wrap here.
            Op::Ja if u64::from(k) >= (len - pc - 1) as u64 => {
                bail!("({pc:03}): ja jumps {k} past the end of the program")
            }
            Op::Jump(..) => {
                for (branch, off) in [("jt", insn.jt), ("jf", insn.jf)] {
                    if pc + usize::from(off) + 1 >= len {
                        bail!("({pc:03}): {branch} {off} jumps past the end of the program");
                    }
                }
            }
            Op::LdAbs(_) if k >= SKF_AD_OFF && !known_ancillary(k) => {
                bail!("({pc:03}): unknown ancillary load at {k:#x}")
            }
            _ => {}
        }
    }
    // Every path ends in a RET: jumps stay inside and go forward, so the
    // last instruction is where a path without a RET would fall off.
    if !matches!(decode(program[len - 1].code), Some(Op::RetK | Op::RetA)) {
        bail!("({:03}): the last instruction is not a ret", len - 1);
    }
    check_loads_after_stores(program)
}

/// `check_load_and_stores()`: a read of M[k] must come after a store to
/// M[k] on every path that reaches it, so a filter cannot see what an earlier
/// filter left in the scratch memory. Like the kernel, one forward pass with
/// a bit per word: what is valid at a jump target is what all the jumps to
/// it agree on, and the fall-through after an unconditional jump starts from
/// "everything valid" (only jumps reach it).
fn check_loads_after_stores(program: &[sock_filter]) -> Result<()> {
    let mut masks = vec![u16::MAX; program.len()];
    let mut valid: u16 = 0;
    for (pc, insn) in program.iter().enumerate() {
        valid &= masks[pc];
        let k = insn.k;
        match decode(insn.code) {
            Some(Op::St | Op::Stx) => valid |= 1 << k,
            Some(Op::LdMem | Op::LdxMem) if valid & (1 << k) == 0 => {
                bail!("({pc:03}): reads M[{k}] before a store to it")
            }
            Some(Op::Ja) => {
                masks[pc + 1 + k as usize] &= valid;
                valid = u16::MAX;
            }
            Some(Op::Jump(..)) => {
                masks[pc + 1 + usize::from(insn.jt)] &= valid;
                masks[pc + 1 + usize::from(insn.jf)] &= valid;
                valid = u16::MAX;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The registers after instruction `pc` ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub pc: usize,
    pub a: u32,
    pub x: u32,
}

/// How a run ended. Only [`End::Return`] is a RET instruction; the kernel
/// ends the others with a return value of 0 too, which drops the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `ret`: keep this many bytes of the packet, 0 = drop it.
    Return(u32),
    /// Instruction `pc` loads `size` bytes at `offset`, past the end of the
    /// packet. Offsets from 0x80000000 up are negative to the kernel, which
    /// reads them relative to the link-layer (`SKF_LL_OFF`) or network
    /// (`SKF_NET_OFF`) header; they are out of bounds here.
    OutOfBounds { pc: usize, offset: u64, size: u32 },
    /// Instruction `pc` divides by X, and X is 0.
    DivisionByZero { pc: usize },
    /// Instruction `pc` loads ancillary data at `k` (`SKF_AD_OFF + n`),
    /// packet metadata a byte slice does not have: not modelled.
    Ancillary { pc: usize, k: u32 },
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            End::Return(0) => write!(f, "ret #0: drop the packet"),
            End::Return(k) => write!(f, "ret #{k}: keep up to {k} bytes"),
            End::OutOfBounds { pc, offset, size } => write!(
                f,
                "({pc:03}) reads {size} byte(s) at {offset}, past the end of the packet: \
                 the kernel ends the program with 0, drop"
            ),
            End::DivisionByZero { pc } => write!(
                f,
                "({pc:03}) divides by X = 0: the kernel ends the program with 0, drop"
            ),
            End::Ancillary { pc, k } => write!(
                f,
                "({pc:03}) loads ancillary data at SKF_AD_OFF + {}: the kernel would load \
                 packet metadata here; not modelled, the run ends with 0",
                k - SKF_AD_OFF
            ),
        }
    }
}

/// One run of a program on a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// One per executed instruction, in order, including the final `ret`.
    /// An instruction that ends the run abnormally (see [`End`]) has none.
    pub steps: Vec<Step>,
    pub end: End,
}

impl Run {
    /// What the filter returned: bytes to keep, 0 = drop.
    pub fn verdict(&self) -> u32 {
        match self.end {
            End::Return(k) => k,
            _ => 0,
        }
    }

    /// How much of a `packet_len`-byte packet the filter keeps: a verdict
    /// larger than the packet keeps it whole (tcpdump's `ret #262144` means
    /// "all of it").
    pub fn kept(&self, packet_len: usize) -> usize {
        usize::try_from(self.verdict()).map_or(packet_len, |k| k.min(packet_len))
    }
}

/// `size` bytes at `offset` in network byte order, or None past the end.
fn load(packet: &[u8], offset: u64, size: u32) -> Option<u32> {
    let start = usize::try_from(offset).ok()?;
    let bytes = packet.get(start..start.checked_add(size as usize)?)?;
    Some(bytes.iter().fold(0, |acc, &b| acc << 8 | u32::from(b)))
}

/// Run `program` on `packet`, as a socket filter runs in the kernel.
///
/// # Panics
///
/// If `program` does not pass [`check`]: the kernel would not have accepted
/// it, so there is no behaviour to imitate.
pub fn run(program: &[sock_filter], packet: &[u8]) -> Run {
    if let Err(e) = check(program) {
        panic!("interp::run takes only programs that pass check: {e:#}");
    }
    let mut machine = Machine::new(packet);
    // Jumps only go forward, so no run is longer than the program.
    let mut steps = Vec::with_capacity(program.len());
    let mut pc = 0;
    let end = loop {
        let flow = machine.execute(pc, program[pc]);
        let step = Step {
            pc,
            a: machine.a,
            x: machine.x,
        };
        match flow {
            Flow::Next(next) => pc = next,
            Flow::Return(k) => {
                steps.push(step);
                break End::Return(k);
            }
            Flow::Abort(end) => break end,
        }
        steps.push(step);
    };
    Run { steps, end }
}

/// What an instruction did to the run.
enum Flow {
    /// Go on at this instruction.
    Next(usize),
    /// A `ret` of this value: the last step.
    Return(u32),
    /// The run ends here, with no step for this instruction (see [`End`]).
    Abort(End),
}

/// The registers A and X, the scratch memory, and the packet of one run.
struct Machine<'p> {
    a: u32,
    x: u32,
    mem: [u32; MEMWORDS],
    packet: &'p [u8],
}

impl Machine<'_> {
    fn new(packet: &[u8]) -> Machine<'_> {
        Machine {
            a: 0,
            x: 0,
            // The kernel zeroes it too; check_loads_after_stores makes it moot.
            mem: [0; MEMWORDS],
            packet,
        }
    }

    /// Instruction `pc`, by its class: a jump, a return, arithmetic, a
    /// move between A and X, a load or a store.
    fn execute(&mut self, pc: usize, insn: sock_filter) -> Flow {
        let k = insn.k;
        let next = pc + 1;
        match decode(insn.code).expect("check accepted the opcode") {
            Op::Ja => Flow::Next(next + k as usize),
            Op::Jump(op, by_x) => {
                let v = if by_x { self.x } else { k };
                let off = if jumps(op, self.a, v) {
                    insn.jt
                } else {
                    insn.jf
                };
                Flow::Next(next + usize::from(off))
            }
            Op::RetK => Flow::Return(k),
            Op::RetA => Flow::Return(self.a),
            Op::Alu(op, by_x) => {
                let v = if by_x { self.x } else { k };
                match alu(op, self.a, v) {
                    Some(a) => {
                        self.a = a;
                        Flow::Next(next)
                    }
                    None => Flow::Abort(End::DivisionByZero { pc }),
                }
            }
            Op::Neg => {
                self.a = self.a.wrapping_neg();
                Flow::Next(next)
            }
            Op::Tax => {
                self.x = self.a;
                Flow::Next(next)
            }
            Op::Txa => {
                self.a = self.x;
                Flow::Next(next)
            }
            load_or_store => match self.load_or_store(load_or_store, pc, k) {
                Ok(()) => Flow::Next(next),
                Err(end) => Flow::Abort(end),
            },
        }
    }

    /// The loads into A and X, and the stores to the scratch memory. A
    /// load past the packet's end, or of its metadata, ends the run.
    fn load_or_store(&mut self, op: Op, pc: usize, k: u32) -> Result<(), End> {
        let len = self.packet.len() as u32; // a packet reaches a filter below 4 GiB
        match op {
            Op::LdImm => self.a = k,
            Op::LdAbs(_) if k >= SKF_AD_OFF => return Err(End::Ancillary { pc, k }),
            Op::LdAbs(size) => self.a = self.load(pc, k, size)?,
            // The kernel adds X and k in 32 bits, so the sum wraps.
            Op::LdInd(size) => self.a = self.load(pc, self.x.wrapping_add(k), size)?,
            Op::LdLen => self.a = len,
            Op::LdMem => self.a = self.mem[k as usize],
            Op::LdxImm => self.x = k,
            Op::LdxLen => self.x = len,
            Op::LdxMem => self.x = self.mem[k as usize],
            // The IPv4 header length: the low nibble of the byte at k, in
            // 32-bit words, so 4 * (P[k] & 0xf) bytes.
            Op::LdxMsh => self.x = 4 * (self.load(pc, k, 1)? & 0xf),
            Op::St => self.mem[k as usize] = self.a,
            Op::Stx => self.mem[k as usize] = self.x,
            other => unreachable!("{other:?} is no load or store"),
        }
        Ok(())
    }

    /// `size` bytes of the packet at `offset`, for instruction `pc`.
    fn load(&self, pc: usize, offset: u32, size: u32) -> Result<u32, End> {
        load(self.packet, offset.into(), size).ok_or_else(|| out_of_bounds(pc, offset, size))
    }
}

/// A `op` v, or `None` for a division or modulo by 0.
fn alu(op: u32, a: u32, v: u32) -> Option<u32> {
    Some(match op {
        BPF_ADD => a.wrapping_add(v),
        BPF_SUB => a.wrapping_sub(v),
        BPF_MUL => a.wrapping_mul(v),
        // Only X can be 0 here: check refuses a constant 0.
        BPF_DIV | BPF_MOD if v == 0 => return None,
        BPF_DIV => a / v,
        BPF_MOD => a % v,
        BPF_AND => a & v,
        BPF_OR => a | v,
        BPF_XOR => a ^ v,
        // wrapping_shl/shr use the low five bits of v, the kernel's `& 31`;
        // a constant k is below 32 anyway.
        BPF_LSH => a.wrapping_shl(v),
        _ => a.wrapping_shr(v),
    })
}

/// Whether a conditional jump `op` of A against v is taken (to `jt`).
fn jumps(op: u32, a: u32, v: u32) -> bool {
    match op {
        BPF_JEQ => a == v,
        BPF_JGT => a > v,
        BPF_JGE => a >= v,
        _ => a & v != 0,
    }
}

fn out_of_bounds(pc: usize, offset: u32, size: u32) -> End {
    End::OutOfBounds {
        pc,
        offset: offset.into(),
        size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::{bpf_jump, bpf_stmt};

    /// The lecture's `tcpdump -d ip6`.
    fn ip6() -> [sock_filter; 4] {
        [
            bpf_stmt(BPF_LD | BPF_H | BPF_ABS, 12),
            bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 0, 1),
            bpf_stmt(BPF_RET | BPF_K, 0x0004_0000),
            bpf_stmt(BPF_RET | BPF_K, 0),
        ]
    }

    /// An Ethernet header (broadcast to 02:..:01) with `ethertype`, then
    /// `body`.
    fn frame(ethertype: u16, body: &[u8]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    fn s(pc: usize, a: u32, x: u32) -> Step {
        Step { pc, a, x }
    }

    /// Run `program` on `packet`: the registers after each step and the end.
    fn trace(program: &[sock_filter], packet: &[u8]) -> (Vec<(usize, u32, u32)>, End) {
        let run = run(program, packet);
        let steps = run.steps.iter().map(|s| (s.pc, s.a, s.x)).collect();
        (steps, run.end)
    }

    /// `a` and `x` loaded as immediates, then `alu`, then `ret a`: A after
    /// the operation.
    fn alu(a: u32, x: u32, code: u32, k: u32) -> Run {
        let program = [
            bpf_stmt(BPF_LDX | BPF_IMM, x),
            bpf_stmt(BPF_LD | BPF_IMM, a),
            bpf_stmt(BPF_ALU | code, k),
            bpf_stmt(BPF_RET | BPF_A, 0),
        ];
        run(&program, &[])
    }

    fn alu_a(a: u32, x: u32, code: u32, k: u32) -> u32 {
        let run = alu(a, x, code, k);
        assert_eq!(run.steps.len(), 4, "{run:?}");
        run.verdict()
    }

    #[test]
    fn lecture_program_keeps_ipv6() {
        let packet = frame(0x86dd, &[0x60; 40]);
        let run = run(&ip6(), &packet);
        assert_eq!(
            run.steps,
            [s(0, 0x86dd, 0), s(1, 0x86dd, 0), s(2, 0x86dd, 0)]
        );
        assert_eq!(run.end, End::Return(262_144));
        assert_eq!(run.verdict(), 262_144);
        assert_eq!(run.kept(packet.len()), packet.len());
    }

    #[test]
    fn lecture_program_drops_ipv4() {
        let packet = frame(0x0800, &[0x45; 20]);
        let run = run(&ip6(), &packet);
        assert_eq!(
            run.steps,
            [s(0, 0x0800, 0), s(1, 0x0800, 0), s(3, 0x0800, 0)]
        );
        assert_eq!(run.end, End::Return(0));
        assert_eq!(run.kept(packet.len()), 0);
    }

    #[test]
    fn short_frame_is_out_of_bounds() {
        let run = run(&ip6(), &[0xff; 13]);
        assert_eq!(run.steps, []);
        assert_eq!(
            run.end,
            End::OutOfBounds {
                pc: 0,
                offset: 12,
                size: 2
            }
        );
        assert_eq!(run.verdict(), 0);
        assert_eq!(run.kept(13), 0);
    }

    #[test]
    fn kept_is_capped_by_the_packet() {
        let program = [bpf_stmt(BPF_RET | BPF_K, 5)];
        let run = run(&program, &[0; 10]);
        assert_eq!(run.steps, [s(0, 0, 0)]);
        assert_eq!(run.kept(10), 5);
        assert_eq!(run.kept(3), 3);
    }

    #[test]
    fn alu_with_k_and_x() {
        let cases: [(u32, u32, u32, u32); 10] = [
            (BPF_ADD, 7, 5, 12),
            (BPF_SUB, 5, 7, 5u32.wrapping_sub(7)),
            (BPF_MUL, 0x8000_0001, 4, 4),
            (BPF_DIV, 17, 5, 3),
            (BPF_MOD, 17, 5, 2),
            (BPF_AND, 0b1100, 0b1010, 0b1000),
            (BPF_OR, 0b1100, 0b1010, 0b1110),
            (BPF_XOR, 0b1100, 0b1010, 0b0110),
            (BPF_LSH, 0x8000_0003, 1, 6),
            (BPF_RSH, 0x8000_0000, 31, 1),
        ];
        for (op, a, v, want) in cases {
            assert_eq!(alu_a(a, 0, op | BPF_K, v), want, "op {op:#x} with k");
            assert_eq!(alu_a(a, v, op | BPF_X, 0), want, "op {op:#x} with x");
        }
        assert_eq!(alu_a(1, 0, BPF_NEG, 0), u32::MAX);
        assert_eq!(alu_a(0, 0, BPF_NEG, 0), 0);
    }

    #[test]
    fn alu_trace() {
        let run = alu(6, 4, BPF_ADD | BPF_X, 0);
        assert_eq!(
            run.steps,
            [s(0, 0, 4), s(1, 6, 4), s(2, 10, 4), s(3, 10, 4)]
        );
        assert_eq!(run.end, End::Return(10));
    }

    #[test]
    fn shift_by_x_uses_the_low_five_bits() {
        assert_eq!(alu_a(1, 32, BPF_LSH | BPF_X, 0), 1);
        assert_eq!(alu_a(1, 33, BPF_LSH | BPF_X, 0), 2);
        assert_eq!(alu_a(0x8000_0000, 63, BPF_RSH | BPF_X, 0), 1);
    }

    #[test]
    fn division_by_x_zero_ends_with_zero() {
        for op in [BPF_DIV, BPF_MOD] {
            let run = alu(17, 0, op | BPF_X, 0);
            assert_eq!(run.steps, [s(0, 0, 0), s(1, 17, 0)]);
            assert_eq!(run.end, End::DivisionByZero { pc: 2 });
            assert_eq!(run.verdict(), 0);
        }
    }

    /// `ld #a; ldx #x; j<op> #k (or x), 1, 0; ret #2; ret #1` — returns 1
    /// when the jump is taken.
    fn jump_taken(code: u32, a: u32, v: u32) -> bool {
        let by_x = code & BPF_X != 0;
        let program = [
            bpf_stmt(BPF_LD | BPF_IMM, a),
            bpf_stmt(BPF_LDX | BPF_IMM, if by_x { v } else { 0 }),
            bpf_jump(BPF_JMP | code, if by_x { 0 } else { v }, 1, 0),
            bpf_stmt(BPF_RET | BPF_K, 2),
            bpf_stmt(BPF_RET | BPF_K, 1),
        ];
        let run = run(&program, &[]);
        let pcs: Vec<_> = run.steps.iter().map(|s| s.pc).collect();
        match run.verdict() {
            1 => assert_eq!(pcs, [0, 1, 2, 4]),
            _ => assert_eq!(pcs, [0, 1, 2, 3]),
        }
        run.verdict() == 1
    }

    #[test]
    fn conditional_jumps() {
        for src in [BPF_K, BPF_X] {
            assert!(jump_taken(BPF_JEQ | src, 5, 5));
            assert!(!jump_taken(BPF_JEQ | src, 5, 6));
            assert!(jump_taken(BPF_JGT | src, 6, 5));
            assert!(!jump_taken(BPF_JGT | src, 5, 5));
            assert!(jump_taken(BPF_JGE | src, 5, 5));
            assert!(!jump_taken(BPF_JGE | src, 4, 5));
            // Unsigned: 0xffffffff is not -1.
            assert!(jump_taken(BPF_JGT | src, u32::MAX, 1));
            assert!(jump_taken(BPF_JSET | src, 0b0110, 0b0010));
            assert!(!jump_taken(BPF_JSET | src, 0b0110, 0b1001));
        }
    }

    #[test]
    fn ja_skips_forward() {
        let program = [
            bpf_stmt(BPF_JMP | BPF_JA, 2),
            bpf_stmt(BPF_RET | BPF_K, 1),
            bpf_stmt(BPF_RET | BPF_K, 2),
            bpf_stmt(BPF_RET | BPF_K, 3),
        ];
        let (steps, end) = trace(&program, &[]);
        assert_eq!(steps, [(0, 0, 0), (3, 0, 0)]);
        assert_eq!(end, End::Return(3));
    }

    #[test]
    fn msh_and_indirect_load_read_the_ipv4_header() {
        // An IPv4 header with IHL 6 (24 bytes, one option word), then a UDP
        // source port 0x1234: `ldxb 4*([14]&0xf); ldh [x + 14]`.
        let mut body = vec![0x46];
        body.resize(24, 0);
        body.extend_from_slice(&[0x12, 0x34]);
        let packet = frame(0x0800, &body);
        let program = [
            bpf_stmt(BPF_LDX | BPF_B | BPF_MSH, 14),
            bpf_stmt(BPF_LD | BPF_H | BPF_IND, 14),
            bpf_stmt(BPF_RET | BPF_A, 0),
        ];
        let (steps, end) = trace(&program, &packet);
        assert_eq!(steps, [(0, 0, 24), (1, 0x1234, 24), (2, 0x1234, 24)]);
        assert_eq!(end, End::Return(0x1234));
    }

    #[test]
    fn indirect_offset_wraps_in_32_bits() {
        let program = [
            bpf_stmt(BPF_LDX | BPF_IMM, u32::MAX),
            bpf_stmt(BPF_LD | BPF_B | BPF_IND, 2),
            bpf_stmt(BPF_RET | BPF_A, 0),
        ];
        let (steps, end) = trace(&program, &[10, 20, 30]);
        assert_eq!(
            steps,
            [(0, 0, u32::MAX), (1, 20, u32::MAX), (2, 20, u32::MAX)]
        );
        assert_eq!(end, End::Return(20));
    }

    #[test]
    fn loads_word_len_and_bytes() {
        let program = [
            bpf_stmt(BPF_LD | BPF_W | BPF_ABS, 1),
            bpf_stmt(BPF_LDX | BPF_W | BPF_LEN, 0),
            bpf_stmt(BPF_LD | BPF_B | BPF_ABS, 5),
            bpf_stmt(BPF_LD | BPF_W | BPF_LEN, 0),
            bpf_stmt(BPF_RET | BPF_A, 0),
        ];
        let (steps, end) = trace(&program, &[0, 1, 2, 3, 4, 5]);
        assert_eq!(
            steps,
            [
                (0, 0x0102_0304, 0),
                (1, 0x0102_0304, 6),
                (2, 5, 6),
                (3, 6, 6),
                (4, 6, 6)
            ]
        );
        assert_eq!(end, End::Return(6));
    }

    #[test]
    fn scratch_memory_and_misc() {
        let program = [
            bpf_stmt(BPF_LD | BPF_IMM, 7),
            bpf_stmt(BPF_ST, 3),
            bpf_stmt(BPF_MISC | BPF_TAX, 0),
            bpf_stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
            bpf_stmt(BPF_STX, 15),
            bpf_stmt(BPF_LDX | BPF_MEM, 3),
            bpf_stmt(BPF_LD | BPF_MEM, 15),
            bpf_stmt(BPF_MISC | BPF_TXA, 0),
            bpf_stmt(BPF_RET | BPF_A, 0),
        ];
        let (steps, end) = trace(&program, &[]);
        assert_eq!(
            steps,
            [
                (0, 7, 0),
                (1, 7, 0),
                (2, 7, 7),
                (3, 14, 7),
                (4, 14, 7),
                (5, 14, 7),
                (6, 7, 7),
                (7, 7, 7),
                (8, 7, 7),
            ]
        );
        assert_eq!(end, End::Return(7));
    }

    #[test]
    fn ancillary_load_is_not_modelled() {
        let k = SKF_AD_OFF + libc::SKF_AD_PROTOCOL as u32;
        let program = [
            bpf_stmt(BPF_LD | BPF_W | BPF_ABS, k),
            bpf_stmt(BPF_RET | BPF_A, 0),
        ];
        let run = run(&program, &[0; 64]);
        assert_eq!(run.steps, []);
        assert_eq!(run.end, End::Ancillary { pc: 0, k });
        assert_eq!(run.verdict(), 0);
        assert!(run.end.to_string().contains("metadata"), "{}", run.end);
    }

    #[test]
    fn out_of_bounds_word_at_the_end() {
        let program = [
            bpf_stmt(BPF_LD | BPF_W | BPF_ABS, 2),
            bpf_stmt(BPF_RET | BPF_K, 1),
        ];
        assert_eq!(run(&program, &[0; 6]).end, End::Return(1));
        assert_eq!(
            run(&program, &[0; 5]).end,
            End::OutOfBounds {
                pc: 0,
                offset: 2,
                size: 4
            }
        );
    }

    fn refused(program: &[sock_filter]) -> String {
        format!("{:#}", check(program).unwrap_err())
    }

    #[test]
    fn check_accepts_the_lecture_program() {
        check(&ip6()).unwrap();
    }

    #[test]
    fn check_refuses_what_the_kernel_refuses() {
        let ret = bpf_stmt(BPF_RET | BPF_K, 0);
        assert!(refused(&[]).contains("1 to 4096"));
        assert!(refused(&vec![ret; MAX_INSNS + 1]).contains("4097"));
        check(&vec![ret; MAX_INSNS]).unwrap();
        assert_eq!(
            refused(&[bpf_stmt(0xffff, 0), ret]),
            "(000): unknown opcode 0xffff"
        );
        // RET X does not exist.
        assert!(refused(&[bpf_stmt(BPF_RET | BPF_X, 0)]).contains("unknown opcode"));
        assert!(
            refused(&[bpf_stmt(BPF_ALU | BPF_DIV | BPF_K, 0), ret]).starts_with("(000): division")
        );
        assert!(
            refused(&[bpf_stmt(BPF_ALU | BPF_MOD | BPF_K, 0), ret]).starts_with("(000): division")
        );
        assert!(refused(&[bpf_stmt(BPF_ALU | BPF_LSH | BPF_K, 32), ret]).contains("shift"));
        assert!(refused(&[bpf_stmt(BPF_ST, 16), ret]).contains("M[16]"));
        assert!(refused(&[bpf_stmt(BPF_JMP | BPF_JA, 1), ret]).contains("past the end"));
        assert!(refused(&[bpf_stmt(BPF_JMP | BPF_JA, u32::MAX), ret]).contains("past the end"));
        assert!(
            refused(&[bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), ret]).contains("jf 1 jumps")
        );
        assert!(refused(&[bpf_stmt(BPF_LD | BPF_IMM, 0)]).contains("(000): the last"));
        assert!(
            refused(&[bpf_stmt(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + 2), ret])
                .contains("ancillary")
        );
        assert!(refused(&[bpf_stmt(BPF_LD | BPF_MEM, 0), ret]).contains("before a store"));
    }

    #[test]
    fn check_follows_stores_along_every_path() {
        let ret = bpf_stmt(BPF_RET | BPF_A, 0);
        // Stored on the jt path only: refused at the join.
        let one_path = [
            bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
            bpf_stmt(BPF_ST, 0),
            bpf_stmt(BPF_LD | BPF_MEM, 0),
            ret,
        ];
        assert_eq!(refused(&one_path), "(002): reads M[0] before a store to it");
        // Stored before the branch: fine on both paths.
        let both = [
            bpf_stmt(BPF_ST, 0),
            bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
            bpf_stmt(BPF_LD | BPF_IMM, 1),
            bpf_stmt(BPF_LD | BPF_MEM, 0),
            ret,
        ];
        check(&both).unwrap();
    }

    #[test]
    #[should_panic(expected = "pass check")]
    fn run_refuses_unchecked_programs() {
        run(&[bpf_stmt(BPF_LD | BPF_IMM, 0)], &[]);
    }
}
