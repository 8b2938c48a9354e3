//! Links libseccomp without its -dev package.
//!
//! libseccomp-sys asks the linker for `-lseccomp`, which finds only the
//! unversioned `libseccomp.so` that the -dev package ships. Every
//! mainstream distribution has the runtime, `libseccomp.so.2`, installed;
//! a link named `libseccomp.so` to it in OUT_DIR is all the linker needs,
//! and the binary still records `libseccomp.so.2` (the library's soname).
//!
//! It looks where the target's dynamic loader would (see `find_runtime`),
//! so a cross build for arm64 finds the arm64 library, not the host's.

use std::path::{Path, PathBuf};
use std::{env, fs};

const RUNTIME: &str = "libseccomp.so.2";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBSECCOMP_LIB_PATH");
    if env::var_os("CARGO_FEATURE_LIBSECCOMP").is_none() {
        return;
    }
    let Some(runtime) = find_runtime() else {
        let target = env::var("TARGET").unwrap_or_default();
        panic!(
            "{RUNTIME} for {target} not found: install the libseccomp runtime \
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

/// The runtime library for the target being built, where its dynamic
/// loader would look for it: LIBSECCOMP_LIB_PATH first, then the target's
/// multiarch folders (Debian, Ubuntu: /usr/lib/aarch64-linux-gnu for an
/// arm64 build), then, unless cross-compiling, the generic ones, which hold
/// the host's own libraries.
fn find_runtime() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = env::var_os("LIBSECCOMP_LIB_PATH")
        .map(|path| env::split_paths(&path).collect())
        .unwrap_or_default();
    let multiarch = multiarch_triplet();
    dirs.extend(
        [format!("/usr/lib/{multiarch}"), format!("/lib/{multiarch}")]
            .iter()
            .map(PathBuf::from),
    );
    let cross = env::var("TARGET").ok() != env::var("HOST").ok();
    if !cross {
        let wide = env::var("CARGO_CFG_TARGET_POINTER_WIDTH").as_deref() == Ok("64");
        let generic: &[&str] = if wide {
            &["/usr/lib64", "/lib64", "/usr/lib", "/lib", "/usr/local/lib"]
        } else {
            &["/usr/lib", "/lib", "/usr/local/lib"]
        };
        dirs.extend(generic.iter().map(PathBuf::from));
    }
    dirs.into_iter()
        .map(|dir| dir.join(RUNTIME))
        .find(|candidate| Path::new(candidate).exists())
}

/// Debian's name for the target's library folder: x86_64-linux-gnu,
/// aarch64-linux-gnu, i386-linux-gnu, arm-linux-gnueabihf.
fn multiarch_triplet() -> String {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let abi = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let abi = if abi.is_empty() {
        "gnu".to_string()
    } else {
        abi
    };
    match arch.as_str() {
        "x86" => format!("i386-linux-{abi}"),
        "arm" => "arm-linux-gnueabihf".to_string(),
        arch => format!("{arch}-linux-{abi}"),
    }
}
