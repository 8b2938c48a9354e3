// Builds escape-probe (probe/main.rs) on its own, linked statically, for
// the demo to embed: a static program starts under a watcher that refuses
// `openat`, where a dynamic one dies in its loader, which opens libc with
// `openat`. Where a static C library is missing (libc6-dev has libc.a), the
// probe is left empty and the demo says so in its cells.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=probe");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let probe = out.join("escape-probe");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut command = Command::new(rustc);
    // A cross build (arm64) embeds a probe for the target, linked by the
    // target's linker, which cargo passes on as RUSTC_LINKER.
    let target = std::env::var("TARGET").unwrap_or_default();
    if std::env::var("HOST").ok().as_deref() != Some(target.as_str()) {
        command.args(["--target", &target]);
        if let Some(linker) = std::env::var_os("RUSTC_LINKER") {
            command.arg("-C").arg({
                let mut flag = std::ffi::OsString::from("linker=");
                flag.push(linker);
                flag
            });
        }
    }
    let built = command
        .args(["--edition", "2021", "--crate-name", "escape_probe"])
        .args(["-C", "target-feature=+crt-static", "-C", "opt-level=1"])
        .args(["-C", "debuginfo=0", "-C", "strip=symbols"])
        .arg("probe/main.rs")
        .arg("-o")
        .arg(&probe)
        .status();
    if !matches!(built, Ok(status) if status.success()) {
        println!("cargo:warning=escape-probe was not built (no static C library? install libc6-dev): its rows will say so");
        std::fs::write(&probe, b"").expect("writing an empty probe into OUT_DIR");
    }
}
