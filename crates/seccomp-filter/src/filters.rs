//! The lecture's filter and its variants, each built from small functions,
//! and a printer for the lecture's bpf_asm syntax.

use libc::{
    BPF_ABS, BPF_ALU, BPF_DIV, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_MEM, BPF_MISC,
    BPF_MOD, BPF_MUL, BPF_RET, BPF_ST, BPF_SUB, BPF_TAX, BPF_W, BPF_X,
};
#[cfg(target_arch = "x86_64")]
use workbook::arch::X32_SYSCALL_BIT;
use workbook::arch::{AUDIT_ARCH, AUDIT_ARCH_NAME};
use workbook::bpf::{bpf_jump, bpf_stmt, sock_filter};
use workbook::names::{syscall_name, syscall_number};
use workbook::seccomp::{listed, load, ret, ARCH, NR};

/// The four syscalls the lecture's filter forbids.
pub const FORBIDDEN: [&str; 4] = [
    "open_by_handle_at",
    "delete_module",
    "get_mempolicy",
    "move_pages",
];

/// What a filter returns for a forbidden call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// SECCOMP_RET_KILL_PROCESS: the whole process dies of SIGSYS.
    KillProcess,
    /// SECCOMP_RET_KILL_THREAD (0): the lecture's `ret #0`.
    KillThread,
    /// SECCOMP_RET_ERRNO | EPERM: the call fails, the program goes on.
    Errno,
    /// SECCOMP_RET_TRAP: SIGSYS, which the program may catch.
    Trap,
    /// SECCOMP_RET_LOG: allowed, and logged by the kernel.
    Log,
}

impl Action {
    pub fn ret(self) -> u32 {
        match self {
            Action::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
            Action::KillThread => libc::SECCOMP_RET_KILL_THREAD,
            Action::Errno => libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
            Action::Trap => libc::SECCOMP_RET_TRAP,
            Action::Log => libc::SECCOMP_RET_LOG,
        }
    }
}

/// The forbidden calls' numbers on the running architecture: the slide's
/// are x86_64's, and mean other calls elsewhere (x86_64's get_mempolicy,
/// 239, is move_pages on arm64).
fn numbers() -> Vec<u64> {
    FORBIDDEN
        .iter()
        .map(|name| syscall_number(name).expect("the lecture's syscalls exist on x86_64 and arm64"))
        .collect()
}

/// One line per forbidden call: its number here, and what the slide's
/// x86_64 number of it would mean here.
#[cfg(not(target_arch = "x86_64"))]
pub fn numbers_here() -> Vec<String> {
    FORBIDDEN
        .iter()
        .zip(numbers())
        .map(|(name, here)| {
            let x86_64 = workbook::names::x86_64_syscall_number(name).unwrap_or(0);
            format!(
                "{name}: {here} on {}; its x86_64 number, {x86_64}, is {} here",
                workbook::arch::NAME,
                syscall_name(x86_64)
            )
        })
        .collect()
}

// ANCHOR: lecture
/// The slide's filter: `ld [0]`, four `jeq`s, `ret ALLOW`, `ret #0`.
pub fn lecture(action: Action) -> Vec<sock_filter> {
    let mut program = vec![load(NR)];
    program.extend(listed(&numbers(), action.ret()));
    program
}
// ANCHOR_END: lecture

// ANCHOR: hardened
/// The same, after two checks the slide leaves out: the call must come
/// through the x86_64 ABI (not `int 0x80`), and not carry the x32 bit.
/// A kill kills the whole process: a thread killed alone may leave the
/// rest of the program waiting for it, or holding its half-done work.
#[cfg(target_arch = "x86_64")]
pub fn hardened(action: Action) -> Vec<sock_filter> {
    let action = match action {
        Action::KillThread => Action::KillProcess,
        other => other,
    };
    let numbers = numbers();
    let mut program = vec![
        load(ARCH),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
        load(NR),
        bpf_jump(
            BPF_JMP | BPF_JGE | BPF_K,
            X32_SYSCALL_BIT as u32,
            numbers.len() as u8 + 1,
            0,
        ),
    ];
    program.extend(listed(&numbers, action.ret()));
    program
}
// ANCHOR_END: hardened

// ANCHOR: hardened_aarch64
/// arm64's `hardened`: the arch check alone, since arm64 has no x32 bit.
/// (Calls from AArch32 code carry AUDIT_ARCH_ARM, and are killed by it.)
#[cfg(target_arch = "aarch64")]
pub fn hardened(action: Action) -> Vec<sock_filter> {
    let action = match action {
        Action::KillThread => Action::KillProcess,
        other => other,
    };
    let mut program = vec![
        load(ARCH),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
        load(NR),
    ];
    program.extend(listed(&numbers(), action.ret()));
    program
}
// ANCHOR_END: hardened_aarch64

// ANCHOR: modulo
/// Kills syscall numbers that end in 999 — none do, so it is harmless —
/// with `mod`, which seccomp's checker does not accept.
pub fn with_mod() -> Vec<sock_filter> {
    vec![
        load(NR),
        bpf_stmt(BPF_ALU | BPF_MOD | BPF_K, 1000),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 999, 0, 1),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
        ret(libc::SECCOMP_RET_ALLOW),
    ]
}

/// The same arithmetic without `mod`: a - (a / 1000) * 1000.
pub fn without_mod() -> Vec<sock_filter> {
    vec![
        load(NR),
        bpf_stmt(BPF_ST, 0),
        bpf_stmt(BPF_ALU | BPF_DIV | BPF_K, 1000),
        bpf_stmt(BPF_ALU | BPF_MUL | BPF_K, 1000),
        bpf_stmt(BPF_MISC | BPF_TAX, 0),
        bpf_stmt(BPF_LD | BPF_MEM, 0),
        bpf_stmt(BPF_ALU | BPF_SUB | BPF_X, 0),
        bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, 999, 0, 1),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
        ret(libc::SECCOMP_RET_ALLOW),
    ]
}
// ANCHOR_END: modulo

/// The program in the lecture's bpf_asm syntax, with the names of the
/// numbers as comments. `ret`s get the lecture's labels, `good` for ALLOW
/// and `bad` for the rest; other jump targets get `L` and their index.
pub fn asm(program: &[sock_filter]) -> String {
    let is_ret = |insn: &sock_filter| u32::from(insn.code) == BPF_RET | BPF_K;
    let last = program.len().saturating_sub(1);
    let label = |target: usize| -> String {
        match program.get(target) {
            Some(insn) if is_ret(insn) && insn.k == libc::SECCOMP_RET_ALLOW => "good".into(),
            Some(insn) if is_ret(insn) && target == last => "bad".into(),
            Some(insn) if is_ret(insn) && insn.k == libc::SECCOMP_RET_KILL_PROCESS => "kill".into(),
            _ => format!("L{target}"),
        }
    };
    // Both targets are named when neither falls through (bpf_asm's
    // three-operand form), so the fall-through one needs a label too.
    let jumped_to: Vec<usize> = program
        .iter()
        .enumerate()
        .filter(|(_, insn)| u32::from(insn.code) & 0x07 == BPF_JMP)
        .flat_map(|(pc, insn)| {
            let (jt, jf) = (pc + 1 + insn.jt as usize, pc + 1 + insn.jf as usize);
            match (insn.jt, insn.jf) {
                (_, 0) => vec![jt],
                (0, _) if u32::from(insn.code) & 0xf0 == BPF_JEQ => vec![jf],
                _ => vec![jt, jf],
            }
        })
        .collect();
    let mut loaded = None;
    let mut lines = Vec::new();
    for (pc, insn) in program.iter().enumerate() {
        let prefix = if is_ret(insn) || jumped_to.contains(&pc) {
            format!("{}:", label(pc))
        } else {
            String::new()
        };
        let (text, comment) = instruction(pc, insn, &label, &mut loaded);
        let line = format!("{prefix:<6}{text:<24}");
        lines.push(match comment {
            Some(comment) => format!("{line}/* {comment} */"),
            None => line.trim_end().to_string(),
        });
    }
    lines.join("\n") + "\n"
}

fn instruction(
    pc: usize,
    insn: &sock_filter,
    label: &dyn Fn(usize) -> String,
    loaded: &mut Option<u32>,
) -> (String, Option<String>) {
    let code = u32::from(insn.code);
    let k = insn.k;
    if code == BPF_LD | BPF_W | BPF_ABS {
        *loaded = Some(k);
        let field = match k {
            NR => "seccomp_data.nr".to_string(),
            ARCH => "seccomp_data.arch".to_string(),
            8 => "seccomp_data.instruction_pointer".to_string(),
            16..=63 => format!("seccomp_data.args[{}]", (k - 16) / 8),
            _ => "seccomp_data".to_string(),
        };
        return (format!("ld [{k}]"), Some(field));
    }
    if code == BPF_RET | BPF_K {
        return (format!("ret #{k:#x}"), Some(ret_name(k)));
    }
    if code & 0x07 == BPF_JMP {
        let (jt, jf) = (pc + 1 + insn.jt as usize, pc + 1 + insn.jf as usize);
        let op = match code & 0xf0 {
            x if x == BPF_JEQ && insn.jt == 0 && insn.jf > 0 => "jne",
            x if x == BPF_JEQ => "jeq",
            x if x == BPF_JGE => "jge",
            x if x == libc::BPF_JGT => "jgt",
            x if x == libc::BPF_JSET => "jset",
            _ => "ja",
        };
        // bpf_asm's forms: `jeq #k, Ltrue` falls through when false, and
        // `jne #k, Lfalse` when true.
        let targets = match (op, insn.jf) {
            ("jne", _) => label(jf),
            (_, 0) => label(jt),
            _ => format!("{}, {}", label(jt), label(jf)),
        };
        let comment = match *loaded {
            Some(NR) if code & 0xf0 == BPF_JEQ => Some(syscall_name(u64::from(k))),
            #[cfg(target_arch = "x86_64")]
            Some(NR) if k == X32_SYSCALL_BIT as u32 => Some("the x32 bit".to_string()),
            Some(ARCH) if k == AUDIT_ARCH => Some(AUDIT_ARCH_NAME.to_string()),
            _ => None,
        };
        let operand = if k > 0xffff {
            format!("#{k:#x}")
        } else {
            format!("#{k}")
        };
        return (format!("{op} {operand}, {targets}"), comment);
    }
    // st, ldx, alu, tax: tcpdump's words, without its "(NNN) " column.
    // A no longer holds a field of seccomp_data after most of these.
    *loaded = None;
    let text = workbook::bpf::disasm::image(insn, pc);
    let text = text
        .get(6..)
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (text, None)
}

fn ret_name(k: u32) -> String {
    match k & libc::SECCOMP_RET_ACTION_FULL {
        libc::SECCOMP_RET_ALLOW => "SECCOMP_RET_ALLOW".into(),
        libc::SECCOMP_RET_KILL_PROCESS => "SECCOMP_RET_KILL_PROCESS".into(),
        libc::SECCOMP_RET_KILL_THREAD => "SECCOMP_RET_KILL_THREAD".into(),
        libc::SECCOMP_RET_TRAP => "SECCOMP_RET_TRAP".into(),
        libc::SECCOMP_RET_LOG => "SECCOMP_RET_LOG".into(),
        libc::SECCOMP_RET_TRACE => format!("SECCOMP_RET_TRACE, data {}", k & 0xffff),
        libc::SECCOMP_RET_ERRNO => {
            let errno = nix::errno::Errno::from_raw((k & 0xffff) as i32);
            format!("SECCOMP_RET_ERRNO | {errno:?}")
        }
        _ => "unknown action".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(program: &[sock_filter]) -> Vec<(u16, u8, u8, u32)> {
        program.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
    }

    /// open_by_handle_at, delete_module, get_mempolicy and move_pages: the
    /// slide's numbers are x86_64's; arm64's are its own.
    #[cfg(target_arch = "x86_64")]
    const LECTURE: [u32; 4] = [304, 176, 239, 279];
    #[cfg(target_arch = "aarch64")]
    const LECTURE: [u32; 4] = [265, 106, 236, 239];

    #[test]
    fn the_lectures_numbers() {
        assert_eq!(numbers(), LECTURE.map(u64::from));
    }

    #[test]
    fn lecture_filter_instruction_by_instruction() {
        assert_eq!(
            raw(&lecture(Action::KillThread)),
            [
                (0x20, 0, 0, 0),
                (0x15, 4, 0, LECTURE[0]),
                (0x15, 3, 0, LECTURE[1]),
                (0x15, 2, 0, LECTURE[2]),
                (0x15, 1, 0, LECTURE[3]),
                (0x06, 0, 0, 0x7fff_0000),
                (0x06, 0, 0, 0),
            ]
        );
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn hardened_filter_checks_arch_and_x32_first() {
        assert_eq!(
            raw(&hardened(Action::KillProcess)),
            [
                (0x20, 0, 0, 4),
                (0x15, 1, 0, 0xc000_003e),
                (0x06, 0, 0, 0x8000_0000),
                (0x20, 0, 0, 0),
                (0x35, 5, 0, 0x4000_0000),
                (0x15, 4, 0, 304),
                (0x15, 3, 0, 176),
                (0x15, 2, 0, 239),
                (0x15, 1, 0, 279),
                (0x06, 0, 0, 0x7fff_0000),
                (0x06, 0, 0, 0x8000_0000),
            ]
        );
    }

    /// arm64 has no x32 bit to check: the arch, then the numbers.
    #[test]
    #[cfg(target_arch = "aarch64")]
    fn hardened_filter_checks_arch_first() {
        assert_eq!(
            raw(&hardened(Action::KillProcess)),
            [
                (0x20, 0, 0, 4),
                (0x15, 1, 0, 0xc000_00b7),
                (0x06, 0, 0, 0x8000_0000),
                (0x20, 0, 0, 0),
                (0x15, 4, 0, 265),
                (0x15, 3, 0, 106),
                (0x15, 2, 0, 236),
                (0x15, 1, 0, 239),
                (0x06, 0, 0, 0x7fff_0000),
                (0x06, 0, 0, 0x8000_0000),
            ]
        );
    }

    #[test]
    fn hardened_kills_the_process_not_the_thread() {
        assert_eq!(
            hardened(Action::KillThread).last().map(|insn| insn.k),
            Some(libc::SECCOMP_RET_KILL_PROCESS)
        );
        assert_eq!(
            hardened(Action::Errno).last().map(|insn| insn.k),
            Some(Action::Errno.ret())
        );
    }

    #[test]
    fn actions_are_the_kernels_values() {
        assert_eq!(Action::KillThread.ret(), 0);
        assert_eq!(Action::KillProcess.ret(), 0x8000_0000);
        assert_eq!(Action::Errno.ret(), 0x0005_0001);
        assert_eq!(Action::Trap.ret(), 0x0003_0000);
        assert_eq!(Action::Log.ret(), 0x7ffc_0000);
    }

    #[test]
    fn mod_and_its_replacement() {
        assert_eq!(raw(&with_mod())[1], (0x94, 0, 0, 1000));
        assert!(raw(&without_mod()).iter().all(|&(code, ..)| code != 0x94));
    }

    #[test]
    fn asm_reads_like_the_slide() {
        assert_eq!(
            asm(&lecture(Action::KillThread)),
            format!(
                "      ld [0]                  /* seccomp_data.nr */\n\
                 \x20     jeq #{:<3}, bad           /* open_by_handle_at */\n\
                 \x20     jeq #{:<3}, bad           /* delete_module */\n\
                 \x20     jeq #{:<3}, bad           /* get_mempolicy */\n\
                 \x20     jeq #{:<3}, bad           /* move_pages */\n\
                 good: ret #0x7fff0000         /* SECCOMP_RET_ALLOW */\n\
                 bad:  ret #0x0                /* SECCOMP_RET_KILL_THREAD */\n",
                LECTURE[0], LECTURE[1], LECTURE[2], LECTURE[3]
            )
        );
    }
}
