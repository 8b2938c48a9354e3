//! `--explain`: the program run by hand, one instruction at a time, on
//! sample frames, and each verdict checked against the kernel's own.

use anyhow::Result;
use workbook::bpf::disasm::image;
use workbook::bpf::interp::{check, run, End};
use workbook::bpf::sock_filter;

use crate::frames::samples;
use crate::kernel::{kernel_accepts, kernel_keeps};

// ANCHOR: explain
pub fn explain(program: &[sock_filter]) -> Result<()> {
    if let Err(refusal) = check(program) {
        return Err(match kernel_accepts(program)? {
            Err(errno) => refusal.context(format!(
                "the program is refused (the kernel refuses it too: {})",
                workbook::names::errno_name(errno)
            )),
            Ok(()) => refusal.context("the interpreter refuses a program the kernel accepts"),
        });
    }
    for frame in samples() {
        println!("== {} ({} bytes)", frame.name, frame.bytes.len());
        let result = run(program, &frame.bytes);
        for step in &result.steps {
            // tcpdump's tab before jf would break the columns here.
            let text = image(&program[step.pc], step.pc).replace('\t', " ");
            println!("  {text:<44} A = {:#x}  X = {:#x}", step.a, step.x);
        }
        match result.end {
            End::Return(_) => {}
            End::OutOfBounds { pc, offset, size } => println!(
                "  ({pc:03}) loads {size} bytes at offset {offset}, past the end: the program ends, returning 0"
            ),
            End::DivisionByZero { pc } => {
                println!("  ({pc:03}) divides by X = 0: the program ends, returning 0")
            }
            End::Ancillary { pc, k } => println!(
                "  ({pc:03}) loads ancillary data (k = {k:#x}), which this interpreter does not model: returning 0"
            ),
        }
        let kept = result.kept(frame.bytes.len());
        let verdict = match kept {
            0 => "drop".to_string(),
            n => format!("keep {n} bytes"),
        };
        let kernel = kernel_keeps(program, &frame.bytes)?;
        let agreement = if kernel == kept {
            "agrees"
        } else {
            "disagrees"
        };
        println!("  verdict: {verdict} (interpreter); the kernel {agreement} (keeps {kernel})");
    }
    Ok(())
}
// ANCHOR_END: explain
