//! Classic BPF listed the way `tcpdump -d` lists it, and read back from the
//! numbers `tcpdump -ddd` prints.
//!
//! The text follows libpcap 1.10's `bpf_image()` character for character, so
//! a hand-built program can be compared with tcpdump's own output by `diff`.

use std::fmt::Write as _;
use std::str::FromStr;

use anyhow::{anyhow, bail, ensure, Result};
use libc::{
    BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_DIV, BPF_H, BPF_IMM, BPF_IND, BPF_JA,
    BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH,
    BPF_MEM, BPF_MISC, BPF_MOD, BPF_MSH, BPF_MUL, BPF_NEG, BPF_OR, BPF_RET, BPF_RSH, BPF_ST,
    BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_XOR,
};

use super::sock_filter;

/// `BPF_CLASS()` and `BPF_OP()` of the C headers, which libc does not have.
const CLASS: u32 = 0x07;
const OP: u32 = 0xf0;

/// One instruction as libpcap's `bpf_image()` prints it: `(pc) op operand`,
/// and for conditional jumps the absolute targets, `jt N<TAB>jf M`.
pub fn image(insn: &sock_filter, pc: usize) -> String {
    let k = insn.k;
    // libpcap prints most operands with `%d`, so a k above i32::MAX comes
    // out negative: `ret #-1`, `add #-1`. Keep that, or the diff fails.
    let signed = k as i32;
    let (op, operand) = match u32::from(insn.code) {
        c if c == BPF_RET | BPF_K => ("ret", format!("#{signed}")),
        // Nothing after the mnemonic, not `a`: the padding stays, so the
        // line ends in spaces.
        c if c == BPF_RET | BPF_A => ("ret", String::new()),

        c if c == BPF_LD | BPF_W | BPF_ABS => ("ld", absolute(k)),
        c if c == BPF_LD | BPF_H | BPF_ABS => ("ldh", absolute(k)),
        c if c == BPF_LD | BPF_B | BPF_ABS => ("ldb", absolute(k)),
        c if c == BPF_LD | BPF_W | BPF_LEN => ("ld", "#pktlen".to_owned()),
        c if c == BPF_LD | BPF_W | BPF_IND => ("ld", format!("[x + {signed}]")),
        c if c == BPF_LD | BPF_H | BPF_IND => ("ldh", format!("[x + {signed}]")),
        c if c == BPF_LD | BPF_B | BPF_IND => ("ldb", format!("[x + {signed}]")),
        c if c == BPF_LD | BPF_IMM => ("ld", format!("#{k:#x}")),
        c if c == BPF_LDX | BPF_IMM => ("ldx", format!("#{k:#x}")),
        c if c == BPF_LDX | BPF_MSH | BPF_B => ("ldxb", format!("4*([{signed}]&0xf)")),
        c if c == BPF_LD | BPF_MEM => ("ld", format!("M[{signed}]")),
        c if c == BPF_LDX | BPF_MEM => ("ldx", format!("M[{signed}]")),
        c if c == BPF_ST => ("st", format!("M[{signed}]")),
        c if c == BPF_STX => ("stx", format!("M[{signed}]")),

        // libpcap adds an int to an unsigned k, so the target wraps mod 2^32
        // and is then printed signed.
        c if c == BPF_JMP | BPF_JA => (
            "ja",
            format!("{}", (pc as u32).wrapping_add(1).wrapping_add(k) as i32),
        ),
        c if c == BPF_JMP | BPF_JGT | BPF_K => ("jgt", format!("#{k:#x}")),
        c if c == BPF_JMP | BPF_JGE | BPF_K => ("jge", format!("#{k:#x}")),
        c if c == BPF_JMP | BPF_JEQ | BPF_K => ("jeq", format!("#{k:#x}")),
        c if c == BPF_JMP | BPF_JSET | BPF_K => ("jset", format!("#{k:#x}")),
        c if c == BPF_JMP | BPF_JGT | BPF_X => ("jgt", "x".to_owned()),
        c if c == BPF_JMP | BPF_JGE | BPF_X => ("jge", "x".to_owned()),
        c if c == BPF_JMP | BPF_JEQ | BPF_X => ("jeq", "x".to_owned()),
        c if c == BPF_JMP | BPF_JSET | BPF_X => ("jset", "x".to_owned()),

        c if c == BPF_ALU | BPF_NEG => ("neg", String::new()),
        c if c & CLASS == BPF_ALU => match alu(c) {
            Some((op, _)) if c & BPF_X == BPF_X => (op, "x".to_owned()),
            // Bitwise operands are masks, so libpcap shows them in hex;
            // arithmetic ones are numbers and stay decimal.
            Some((op, true)) => (op, format!("#{k:#x}")),
            Some((op, false)) => (op, format!("#{signed}")),
            None => unimp(insn.code),
        },

        c if c == BPF_MISC | BPF_TAX => ("tax", String::new()),
        c if c == BPF_MISC | BPF_TXA => ("txa", String::new()),

        _ => unimp(insn.code),
    };
    let mut line = format!("({pc:03}) {op:<8} ");
    // The jump suffix depends on the class and op bits alone, so even an
    // unknown code in the jump class gets targets, like `unimp 0x55`.
    let code = u32::from(insn.code);
    if code & CLASS == BPF_JMP && code & OP != BPF_JA {
        let jt = pc + 1 + usize::from(insn.jt);
        let jf = pc + 1 + usize::from(insn.jf);
        write!(line, "{operand:<16} jt {jt}\tjf {jf}").unwrap();
    } else {
        line.push_str(&operand);
    }
    line
}

/// The mnemonic of an ALU code other than `neg`, and whether its constant
/// is printed in hex; `None` for codes libpcap does not know.
fn alu(code: u32) -> Option<(&'static str, bool)> {
    // A code with bits outside class, source and op is not an ALU
    // instruction libpcap knows, whatever its op.
    if code & !(CLASS | BPF_X | OP) != 0 {
        return None;
    }
    Some(match code & OP {
        BPF_ADD => ("add", false),
        BPF_SUB => ("sub", false),
        BPF_MUL => ("mul", false),
        BPF_DIV => ("div", false),
        BPF_MOD => ("mod", false),
        BPF_AND => ("and", true),
        BPF_OR => ("or", true),
        BPF_XOR => ("xor", true),
        BPF_LSH => ("lsh", false),
        BPF_RSH => ("rsh", false),
        _ => return None,
    })
}

fn unimp(code: u16) -> (&'static str, String) {
    ("unimp", format!("{code:#x}"))
}

/// The operand of an absolute load: Linux's ancillary data (protocol,
/// VLAN tag, ...) lives at fixed offsets from `SKF_AD_OFF`, and libpcap on
/// Linux names the ones it knows instead of printing a negative offset.
fn absolute(k: u32) -> String {
    const NAMES: [(i32, &str); 16] = [
        (libc::SKF_AD_PROTOCOL, "proto"),
        (libc::SKF_AD_PKTTYPE, "type"),
        (libc::SKF_AD_IFINDEX, "ifidx"),
        (libc::SKF_AD_NLATTR, "nla"),
        (libc::SKF_AD_NLATTR_NEST, "nlan"),
        (libc::SKF_AD_MARK, "mark"),
        (libc::SKF_AD_QUEUE, "queue"),
        (libc::SKF_AD_HATYPE, "hatype"),
        (libc::SKF_AD_RXHASH, "rxhash"),
        (libc::SKF_AD_CPU, "cpu"),
        (libc::SKF_AD_ALU_XOR_X, "xor_x"),
        (libc::SKF_AD_VLAN_TAG, "vlan_tci"),
        (libc::SKF_AD_VLAN_TAG_PRESENT, "vlanp"),
        (libc::SKF_AD_PAY_OFFSET, "poff"),
        (libc::SKF_AD_RANDOM, "random"),
        (libc::SKF_AD_VLAN_TPID, "vlan_tpid"),
    ];
    let offset = (k as i32).wrapping_sub(libc::SKF_AD_OFF);
    match NAMES.iter().find(|&&(o, _)| o == offset) {
        Some((_, name)) => format!("[{name}]"),
        None => format!("[{}]", k as i32),
    }
}

/// Every instruction's image on a line of its own: what `tcpdump -d`
/// prints on stdout.
pub fn listing(program: &[sock_filter]) -> String {
    program
        .iter()
        .enumerate()
        .map(|(pc, insn)| image(insn, pc) + "\n")
        .collect()
}

/// A program as `tcpdump -ddd` prints one: the instruction count on the
/// first line, then `code jt jf k` a line, in decimal (libpcap's
/// `bpf_dump()`: `%u %u %u %u`). `parse_ddd` reads it back.
pub fn ddd(program: &[sock_filter]) -> String {
    std::iter::once(format!("{}\n", program.len()))
        .chain(
            program
                .iter()
                .map(|i| format!("{} {} {} {}\n", i.code, i.jt, i.jf, i.k)),
        )
        .collect()
}

/// Reads `tcpdump -ddd` output: the instruction count on the first line,
/// then one `code jt jf k` line per instruction, all in decimal.
pub fn parse_ddd(text: &str) -> Result<Vec<sock_filter>> {
    // Numbered from 1, as an editor shows them, so the error points at the
    // right line even after leading blank lines.
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .skip_while(|(_, line)| line.trim().is_empty());
    let Some((count_line, count)) = lines.next() else {
        bail!("no program: the input is empty");
    };
    let count: usize = match words(count_line, count)?.as_slice() {
        &[count] => fit(count_line, "count", count)?,
        found => bail!(
            "line {count_line}: expected 1 number, the instruction count, found {}",
            found.len()
        ),
    };
    let mut rest: Vec<(usize, &str)> = lines.collect();
    // A file saved by an editor or `echo` may end in blank lines.
    while rest.last().is_some_and(|(_, line)| line.trim().is_empty()) {
        rest.pop();
    }
    ensure!(
        count == rest.len(),
        "line {count_line}: the count says {count} instruction{}, but {} {}",
        if count == 1 { "" } else { "s" },
        rest.len(),
        if rest.len() == 1 { "follows" } else { "follow" },
    );
    rest.into_iter()
        .map(|(n, line)| match words(n, line)?.as_slice() {
            &[code, jt, jf, k] => Ok(sock_filter {
                code: fit(n, "code", code)?,
                jt: fit(n, "jt", jt)?,
                jf: fit(n, "jf", jf)?,
                k: fit(n, "k", k)?,
            }),
            found => bail!(
                "line {n}: expected 4 numbers \"code jt jf k\", found {}",
                found.len()
            ),
        })
        .collect()
}

/// The words of line `n`, each checked to be a decimal number. Signs are
/// refused too: tcpdump never prints them, and `-1` would be a wrong guess.
fn words(n: usize, line: &str) -> Result<Vec<&str>> {
    line.split_whitespace()
        .map(|word| {
            ensure!(
                word.bytes().all(|b| b.is_ascii_digit()),
                "line {n}: \"{word}\" is not a number"
            );
            Ok(word)
        })
        .collect()
}

/// An all-digit `word` as the field's own type; parsing can then only fail
/// because the number is too big, and the error says so.
fn fit<T: FromStr>(n: usize, field: &str, word: &str) -> Result<T> {
    word.parse().map_err(|_| {
        let bits = 8 * std::mem::size_of::<T>();
        anyhow!("line {n}: {field} {word} does not fit in {bits} bits")
    })
}

#[cfg(test)]
mod tests {
    use libc::{
        BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_DIV, BPF_H, BPF_IMM, BPF_IND, BPF_JA,
        BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH,
        BPF_MEM, BPF_MISC, BPF_MOD, BPF_MSH, BPF_MUL, BPF_NEG, BPF_OR, BPF_RET, BPF_RSH, BPF_ST,
        BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_XOR,
    };

    use super::*;
    use crate::bpf::{bpf_jump, bpf_stmt};

    /// The lecture's program, `tcpdump -d ip6`.
    fn ipv6_filter() -> [sock_filter; 4] {
        [
            bpf_stmt(BPF_LD | BPF_H | BPF_ABS, 12),
            bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 0, 1),
            bpf_stmt(BPF_RET | BPF_K, 0x0004_0000),
            bpf_stmt(BPF_RET | BPF_K, 0),
        ]
    }

    /// `tcpdump -d ip6` from tcpdump 4.99.3 with libpcap 1.10.3.
    const TCPDUMP_D_IP6: &str = "\
(000) ldh      [12]
(001) jeq      #0x86dd          jt 2\tjf 3
(002) ret      #262144
(003) ret      #0
";

    /// `tcpdump -ddd ip6`.
    const TCPDUMP_DDD_IP6: &str = "4\n40 0 0 12\n21 0 1 34525\n6 0 0 262144\n6 0 0 0\n";

    #[track_caller]
    fn check(insn: sock_filter, pc: usize, expected: &str) {
        assert_eq!(image(&insn, pc), expected);
    }

    /// The fields of each instruction: `sock_filter` is only comparable when
    /// libc's `extra_traits` happens to be enabled by some other crate.
    fn raw(program: &[sock_filter]) -> Vec<(u16, u8, u8, u32)> {
        program.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
    }

    fn parse_error(text: &str) -> String {
        parse_ddd(text).unwrap_err().to_string()
    }

    #[test]
    fn the_lecture_program_lists_as_tcpdump_does() {
        assert_eq!(listing(&ipv6_filter()), TCPDUMP_D_IP6);
    }

    #[test]
    fn tcpdump_ddd_reads_back_as_the_lecture_program() {
        let program = parse_ddd(TCPDUMP_DDD_IP6).unwrap();
        assert_eq!(raw(&program), raw(&ipv6_filter()));
        assert_eq!(listing(&program), TCPDUMP_D_IP6);
    }

    #[test]
    fn an_empty_program_lists_as_nothing() {
        assert_eq!(listing(&[]), "");
    }

    #[test]
    fn absolute_loads() {
        check(
            bpf_stmt(BPF_LD | BPF_W | BPF_ABS, 26),
            0,
            "(000) ld       [26]",
        );
        check(
            bpf_stmt(BPF_LD | BPF_H | BPF_ABS, 12),
            1,
            "(001) ldh      [12]",
        );
        check(
            bpf_stmt(BPF_LD | BPF_B | BPF_ABS, 23),
            2,
            "(002) ldb      [23]",
        );
    }

    #[test]
    fn negative_offsets_print_signed() {
        // SKF_NET_OFF + 9: the IP protocol seen from the network header.
        check(
            bpf_stmt(BPF_LD | BPF_B | BPF_ABS, 0xfff0_0009),
            0,
            "(000) ldb      [-1048567]",
        );
    }

    #[test]
    fn ancillary_loads_are_named() {
        let ad = |offset: i32| libc::SKF_AD_OFF.wrapping_add(offset) as u32;
        check(
            bpf_stmt(BPF_LD | BPF_H | BPF_ABS, ad(libc::SKF_AD_PROTOCOL)),
            0,
            "(000) ldh      [proto]",
        );
        check(
            bpf_stmt(BPF_LD | BPF_H | BPF_ABS, ad(libc::SKF_AD_PKTTYPE)),
            0,
            "(000) ldh      [type]",
        );
        check(
            bpf_stmt(BPF_LD | BPF_W | BPF_ABS, ad(libc::SKF_AD_IFINDEX)),
            0,
            "(000) ld       [ifidx]",
        );
        check(
            bpf_stmt(BPF_LD | BPF_B | BPF_ABS, ad(libc::SKF_AD_VLAN_TAG_PRESENT)),
            0,
            "(000) ldb      [vlanp]",
        );
        check(
            bpf_stmt(BPF_LD | BPF_W | BPF_ABS, ad(libc::SKF_AD_VLAN_TPID)),
            0,
            "(000) ld       [vlan_tpid]",
        );
    }

    #[test]
    fn unknown_ancillary_offsets_print_as_numbers() {
        // Between two named slots, and just past the last one.
        check(
            bpf_stmt(BPF_LD | BPF_W | BPF_ABS, 0xffff_f002),
            0,
            "(000) ld       [-4094]",
        );
        check(
            bpf_stmt(BPF_LD | BPF_W | BPF_ABS, 0xffff_f040),
            0,
            "(000) ld       [-4032]",
        );
    }

    #[test]
    fn indirect_loads_are_not_named() {
        check(
            bpf_stmt(BPF_LD | BPF_W | BPF_IND, libc::SKF_AD_OFF as u32),
            0,
            "(000) ld       [x + -4096]",
        );
        check(
            bpf_stmt(BPF_LD | BPF_H | BPF_IND, 14),
            0,
            "(000) ldh      [x + 14]",
        );
        check(
            bpf_stmt(BPF_LD | BPF_B | BPF_IND, 27),
            0,
            "(000) ldb      [x + 27]",
        );
    }

    #[test]
    fn other_loads() {
        check(
            bpf_stmt(BPF_LD | BPF_W | BPF_LEN, 0),
            0,
            "(000) ld       #pktlen",
        );
        check(
            bpf_stmt(BPF_LD | BPF_IMM, 0x800),
            0,
            "(000) ld       #0x800",
        );
        check(bpf_stmt(BPF_LD | BPF_IMM, 0), 0, "(000) ld       #0x0");
        check(bpf_stmt(BPF_LD | BPF_MEM, 3), 0, "(000) ld       M[3]");
        check(bpf_stmt(BPF_LDX | BPF_IMM, 20), 0, "(000) ldx      #0x14");
        check(bpf_stmt(BPF_LDX | BPF_MEM, 15), 0, "(000) ldx      M[15]");
        check(
            bpf_stmt(BPF_LDX | BPF_MSH | BPF_B, 14),
            0,
            "(000) ldxb     4*([14]&0xf)",
        );
    }

    #[test]
    fn stores() {
        check(bpf_stmt(BPF_ST, 0), 0, "(000) st       M[0]");
        check(bpf_stmt(BPF_STX, 1), 0, "(000) stx      M[1]");
    }

    #[test]
    fn conditional_jumps_show_absolute_targets() {
        check(
            bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 0, 1),
            1,
            "(001) jeq      #0x86dd          jt 2\tjf 3",
        );
        check(
            bpf_jump(BPF_JMP | BPF_JGT | BPF_K, 100, 0, 1),
            2,
            "(002) jgt      #0x64            jt 3\tjf 4",
        );
        check(
            bpf_jump(BPF_JMP | BPF_JGE | BPF_K, 0x5dc, 5, 0),
            10,
            "(010) jge      #0x5dc           jt 16\tjf 11",
        );
        check(
            bpf_jump(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 255, 255),
            3,
            "(003) jset     #0x1fff          jt 259\tjf 259",
        );
    }

    #[test]
    fn jumps_on_x() {
        check(
            bpf_jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 1, 2),
            6,
            "(006) jeq      x                jt 8\tjf 9",
        );
        check(
            bpf_jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1),
            0,
            "(000) jgt      x                jt 1\tjf 2",
        );
        check(
            bpf_jump(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 1),
            0,
            "(000) jge      x                jt 1\tjf 2",
        );
        check(
            bpf_jump(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 1),
            0,
            "(000) jset     x                jt 1\tjf 2",
        );
    }

    #[test]
    fn a_long_operand_pushes_the_targets_right() {
        check(
            bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 0xffff_ffff, 0, 0),
            0,
            "(000) jeq      #0xffffffff      jt 1\tjf 1",
        );
    }

    #[test]
    fn ja_shows_its_absolute_target_and_no_jt_jf() {
        check(bpf_stmt(BPF_JMP | BPF_JA, 3), 4, "(004) ja       8");
        // libpcap's unsigned arithmetic wraps: `ja -1` from 7 lands on 7.
        check(bpf_stmt(BPF_JMP | BPF_JA, u32::MAX), 7, "(007) ja       7");
    }

    #[test]
    fn alu_with_constants() {
        let alu = |op, k| bpf_stmt(BPF_ALU | op | BPF_K, k);
        check(alu(BPF_ADD, 1), 0, "(000) add      #1");
        check(alu(BPF_SUB, 1), 0, "(000) sub      #1");
        check(alu(BPF_MUL, 2), 0, "(000) mul      #2");
        check(alu(BPF_DIV, 2), 0, "(000) div      #2");
        check(alu(BPF_MOD, 3), 0, "(000) mod      #3");
        check(alu(BPF_AND, 15), 0, "(000) and      #0xf");
        check(alu(BPF_OR, 16), 0, "(000) or       #0x10");
        check(alu(BPF_XOR, 1), 0, "(000) xor      #0x1");
        check(alu(BPF_LSH, 2), 0, "(000) lsh      #2");
        check(alu(BPF_RSH, 1), 0, "(000) rsh      #1");
        check(alu(BPF_ADD, u32::MAX), 0, "(000) add      #-1");
        check(alu(BPF_AND, u32::MAX), 0, "(000) and      #0xffffffff");
    }

    #[test]
    fn alu_with_x() {
        let alu = |op| bpf_stmt(BPF_ALU | op | BPF_X, 0);
        check(alu(BPF_ADD), 0, "(000) add      x");
        check(alu(BPF_SUB), 0, "(000) sub      x");
        check(alu(BPF_MUL), 0, "(000) mul      x");
        check(alu(BPF_DIV), 0, "(000) div      x");
        check(alu(BPF_MOD), 0, "(000) mod      x");
        check(alu(BPF_AND), 0, "(000) and      x");
        check(alu(BPF_OR), 0, "(000) or       x");
        check(alu(BPF_XOR), 0, "(000) xor      x");
        check(alu(BPF_LSH), 0, "(000) lsh      x");
        check(alu(BPF_RSH), 0, "(000) rsh      x");
    }

    #[test]
    fn operandless_instructions_keep_their_padding() {
        check(bpf_stmt(BPF_ALU | BPF_NEG, 0), 0, "(000) neg      ");
        check(bpf_stmt(BPF_MISC | BPF_TAX, 0), 0, "(000) tax      ");
        check(bpf_stmt(BPF_MISC | BPF_TXA, 0), 0, "(000) txa      ");
        check(bpf_stmt(BPF_RET | BPF_A, 0), 0, "(000) ret      ");
    }

    #[test]
    fn ret_prints_decimal_and_signed() {
        check(
            bpf_stmt(BPF_RET | BPF_K, 262_144),
            2,
            "(002) ret      #262144",
        );
        // SECCOMP_RET_KILL_PROCESS: bit 31 makes it negative under `%d`.
        check(
            bpf_stmt(BPF_RET | BPF_K, 0x8000_0000),
            0,
            "(000) ret      #-2147483648",
        );
        check(bpf_stmt(BPF_RET | BPF_K, u32::MAX), 0, "(000) ret      #-1");
    }

    #[test]
    fn unknown_codes_are_unimp_in_hex() {
        check(bpf_stmt(BPF_RET | BPF_X, 0), 0, "(000) unimp    0xe");
        check(
            bpf_stmt(BPF_ALU | BPF_NEG | BPF_X, 0),
            0,
            "(000) unimp    0x8c",
        );
        check(
            bpf_stmt(BPF_LD | BPF_W | BPF_MSH, 0),
            0,
            "(000) unimp    0xa0",
        );
        check(bpf_stmt(0xffff, 0), 0, "(000) unimp    0xffff");
    }

    #[test]
    fn unknown_jump_codes_still_show_targets() {
        // BPF_JMP with op 0x50 (JNE in eBPF only): libpcap decides on the
        // suffix from the class and op, not from knowing the code.
        check(
            bpf_jump(BPF_JMP | 0x50 | BPF_K, 1, 3, 4),
            0,
            "(000) unimp    0x55             jt 4\tjf 5",
        );
        // BPF_JA with BPF_X: unknown, and a ja, so no targets.
        check(
            bpf_stmt(BPF_JMP | BPF_JA | BPF_X, 0),
            0,
            "(000) unimp    0xd",
        );
    }

    #[test]
    fn pcs_past_999_widen_the_column() {
        check(bpf_stmt(BPF_JMP | BPF_JA, 0), 1000, "(1000) ja       1001");
    }

    #[test]
    fn ddd_accepts_blank_lines_around_and_any_spacing() {
        let text = "\n\n2\n40   0 0\t12\r\n6 0 0 0\n\n  \n";
        let program = parse_ddd(text).unwrap();
        assert_eq!(
            raw(&program),
            raw(&[
                bpf_stmt(BPF_LD | BPF_H | BPF_ABS, 12),
                bpf_stmt(BPF_RET | BPF_K, 0)
            ])
        );
    }

    #[test]
    fn ddd_takes_the_largest_values() {
        let program = parse_ddd("1\n65535 255 255 4294967295\n").unwrap();
        assert_eq!(raw(&program), [(0xffff, 255, 255, u32::MAX)]);
    }

    #[test]
    fn ddd_errors() {
        assert_eq!(parse_error(""), "no program: the input is empty");
        assert_eq!(parse_error(" \n\t\n"), "no program: the input is empty");
        assert_eq!(parse_error("x\n"), "line 1: \"x\" is not a number");
        assert_eq!(
            parse_error("4 5\n"),
            "line 1: expected 1 number, the instruction count, found 2"
        );
        assert_eq!(
            parse_error("2\nx 0 0 12\n6 0 0 0\n"),
            "line 2: \"x\" is not a number"
        );
        assert_eq!(
            parse_error("2\n40 0 0 12\n6 0 0\n"),
            "line 3: expected 4 numbers \"code jt jf k\", found 3"
        );
        assert_eq!(
            parse_error("2\n40 0 0 12 1\n6 0 0 0\n"),
            "line 2: expected 4 numbers \"code jt jf k\", found 5"
        );
        assert_eq!(
            parse_error("4\n40 0 0 12\n21 0 1 34525\n6 0 0 262144\n"),
            "line 1: the count says 4 instructions, but 3 follow"
        );
        assert_eq!(
            parse_error("\n1\n6 0 0 0\n6 0 0 0\n"),
            "line 2: the count says 1 instruction, but 2 follow"
        );
        assert_eq!(
            parse_error("2\n6 0 0 0\n"),
            "line 1: the count says 2 instructions, but 1 follows"
        );
        assert_eq!(
            parse_error("3\n40 0 0 12\n\n6 0 0 0\n"),
            "line 3: expected 4 numbers \"code jt jf k\", found 0"
        );
        assert_eq!(
            parse_error("3\n40 0 0 12\n6 0 0 0\n21 300 1 1\n"),
            "line 4: jt 300 does not fit in 8 bits"
        );
        assert_eq!(
            parse_error("1\n21 0 256 1\n"),
            "line 2: jf 256 does not fit in 8 bits"
        );
        assert_eq!(
            parse_error("1\n65536 0 0 0\n"),
            "line 2: code 65536 does not fit in 16 bits"
        );
        assert_eq!(
            parse_error("1\n6 0 0 4294967296\n"),
            "line 2: k 4294967296 does not fit in 32 bits"
        );
        assert_eq!(
            parse_error("1\n6 0 0 -1\n"),
            "line 2: \"-1\" is not a number"
        );
    }
}
