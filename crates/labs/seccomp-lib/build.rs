// src/main.rs compiles the demo's main.rs with cfg(lab): the demo's own
// lesson functions give way to the ones in lab.rs.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(lab)");
    println!("cargo::rustc-cfg=lab");
}
