// src/main.rs compiles the demo's main.rs with cfg(lab): the demo's own
// lesson function gives way to the one in lab.rs.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(lab)");
    println!("cargo::rustc-cfg=lab");
}
