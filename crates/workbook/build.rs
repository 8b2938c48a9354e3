//! Links libseccomp without its -dev package.
//!
//! libseccomp-sys asks the linker for `-lseccomp`, which finds only the
//! unversioned `libseccomp.so` that the -dev package ships. Every
//! mainstream distribution has the runtime, `libseccomp.so.2`, installed;
//! a link named `libseccomp.so` to it in OUT_DIR is all the linker needs,
//! and the binary still records `libseccomp.so.2` (the library's soname).

use std::path::{Path, PathBuf};
use std::{env, fs};

const RUNTIME: &str = "libseccomp.so.2";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_LIBSECCOMP").is_none() {
        return;
    }
    let Some(runtime) = find_runtime() else {
        panic!(
            "{RUNTIME} not found: install the libseccomp runtime \
             (Debian, Ubuntu: apt install libseccomp2; Fedora: dnf install libseccomp; \
             Arch: pacman -S libseccomp), or set LIBSECCOMP_LIB_PATH to its directory"
        );
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let link = out.join("libseccomp.so");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(&runtime, &link)
        .unwrap_or_else(|e| panic!("linking {} to {}: {e}", link.display(), runtime.display()));
    println!("cargo:rustc-link-search=native={}", out.display());
}

/// The runtime library, where the dynamic loader would look for it.
fn find_runtime() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = env::var_os("LIBSECCOMP_LIB_PATH")
        .map(|path| env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.extend(
        [
            "/usr/lib/x86_64-linux-gnu",
            "/lib/x86_64-linux-gnu",
            "/usr/lib64",
            "/lib64",
            "/usr/lib",
            "/lib",
            "/usr/local/lib",
        ]
        .iter()
        .map(PathBuf::from),
    );
    dirs.into_iter()
        .map(|dir| dir.join(RUNTIME))
        .find(|candidate| Path::new(candidate).exists())
}
