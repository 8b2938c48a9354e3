//! How the demo shows bytes, words, instructions, trap codes, times and
//! counts, and its narration.

use std::time::Duration;

#[cfg(target_arch = "x86_64")]
use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter};

/// Narration goes to stderr, one line per event, under the demo's name.
macro_rules! say {
    ($($arg:tt)*) => { workbook::narrate!("breakpoint: {}", format_args!($($arg)*)) };
}

/// A word as the number ptrace returns and as the bytes it holds in
/// memory, lowest address first: `48c7af0f48f889cc (in memory: cc 89 f8
/// ...)`. The number is in hex without `0x`: x86_64 is little-endian, so
/// the byte at the address is its last two digits.
pub fn word_bytes(word: i64) -> String {
    format!("{word:016x} (in memory: {})", bytes(&word.to_le_bytes()))
}

/// What a breakpoint replaced: one byte for int3, four for arm64's BRK.
pub const ORIGINAL: &str = match workbook::arch::BREAKPOINT.len() {
    1 => "the original byte",
    _ => "the original bytes",
};

/// `ORIGINAL`, and the verb that agrees with it.
pub const ORIGINAL_IS_BACK: &str = match workbook::arch::BREAKPOINT.len() {
    1 => "the original byte is back",
    _ => "the original bytes are back",
};

pub fn bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `count` instructions decoded from `code`, which starts at `address`, as
/// gdb's `x/3i $pc` lists them: AT&T syntax on x86_64, the current one
/// marked `=>`, each labelled `<symbol+offset>` when the symbol is known.
pub fn instructions(
    code: &[u8],
    address: u64,
    count: usize,
    symbol: Option<(&str, u64)>,
) -> Vec<String> {
    decoded(code, address, count)
        .into_iter()
        .enumerate()
        .map(|(i, (at, text))| {
            let label = match symbol {
                Some((name, start)) if at == start => format!(" <{name}>"),
                Some((name, start)) if at > start => format!(" <{name}+{}>", at - start),
                _ => String::new(),
            };
            let mark = if i == 0 { "=>" } else { "  " };
            format!("{mark} {at:#x}{label}:\t{text}")
        })
        .collect()
}

/// Up to `count` instructions from `code`, each with its address, by
/// iced-x86.
#[cfg(target_arch = "x86_64")]
fn decoded(code: &[u8], address: u64, count: usize) -> Vec<(u64, String)> {
    let mut decoder = Decoder::with_ip(64, code, address, DecoderOptions::NONE);
    let mut formatter = GasFormatter::new();
    // gdb (like objdump) pads the mnemonic to six characters and a space.
    let options = formatter.options_mut();
    options.set_first_operand_char_index(7);
    // And writes numbers as gdb does: lowercase hex, 0x, no leading zeros,
    // rip-relative operands as such.
    options.set_uppercase_hex(false);
    options.set_small_hex_numbers_in_decimal(false);
    options.set_branch_leading_zeros(false);
    options.set_rip_relative_addresses(true);
    let mut lines = Vec::new();
    while lines.len() < count && decoder.can_decode() {
        let instruction = decoder.decode();
        if instruction.is_invalid() {
            break;
        }
        let mut text = String::new();
        formatter.format(&instruction, &mut text);
        lines.push((instruction.ip(), text));
    }
    lines
}

/// The same on arm64, by yaxpeax-arm: every instruction is four bytes, so
/// the n-th is at `address + 4n`.
#[cfg(target_arch = "aarch64")]
fn decoded(code: &[u8], address: u64, count: usize) -> Vec<(u64, String)> {
    use yaxpeax_arch::{Decoder, U8Reader};
    use yaxpeax_arm::armv8::a64::InstDecoder;
    let decoder = InstDecoder::default();
    let mut lines = Vec::new();
    for (word, at) in code.chunks_exact(4).take(count).zip((address..).step_by(4)) {
        let Ok(instruction) = decoder.decode(&mut U8Reader::new(word)) else {
            break;
        };
        // gdb (like objdump) puts a tab between the mnemonic and the operands.
        lines.push((at, instruction.to_string().replacen(' ', "\t", 1)));
    }
    lines
}

/// A SIGTRAP's si_code, by name: who or what sent it.
pub fn si_code_name(code: i32) -> &'static str {
    match code {
        libc::SI_KERNEL => "SI_KERNEL",
        1 => "TRAP_BRKPT",
        2 => "TRAP_TRACE",
        libc::SI_USER => "SI_USER",
        libc::SI_TKILL => "SI_TKILL",
        _ => "other",
    }
}

/// A duration in seconds, to the millisecond.
pub fn seconds(took: Duration) -> String {
    format!("{:.3} s", took.as_secs_f64())
}

/// Time per event, in µs (or ns when below one µs).
pub fn per(took: Duration, events: u64) -> String {
    if events == 0 {
        return "n/a".to_string();
    }
    let ns = took.as_nanos() as f64 / events as f64;
    if ns < 1000.0 {
        format!("{ns:.1} ns")
    } else {
        format!("{:.2} µs", ns / 1000.0)
    }
}

/// `1 byte`, `2 bytes`.
pub fn plural(n: u64, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

#[cfg(all(test, target_arch = "aarch64"))]
mod tests {
    use super::*;

    #[test]
    fn arm64_instructions_as_gdb_lists_them() {
        // BRK #0 where target_fn's first instruction was, then the rest.
        let code: Vec<u8> = [0xd420_0000_u32, 0x8b01_0063, 0x9ac2_2060, 0xd65f_03c0]
            .iter()
            .flat_map(|word| word.to_le_bytes())
            .collect();
        assert_eq!(
            instructions(&code, 0x1000, 3, Some(("target_fn", 0x1000))),
            [
                "=> 0x1000 <target_fn>:\tbrk\t#0x0",
                "   0x1004 <target_fn+4>:\tadd\tx3, x3, x1",
                "   0x1008 <target_fn+8>:\tlsl\tx0, x3, x2",
            ]
        );
    }
}
