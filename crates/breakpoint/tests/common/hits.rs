//! Reading breakpoint's hit lines (`hit 1 at target_fn (0x...): rdi=0x4
//! rsi=0x5eed0004 rdx=0x1`, `x0=` ... on arm64), for its hostile and peer
//! tests (which include this file by `#[path]`).

/// `rdi=` (`x0=` on arm64): where a hit line's first argument starts.
pub fn first_arg() -> String {
    format!("{}=", workbook::arch::FUNCTION_ARGS[0])
}

/// The first argument of each hit line in `stderr`, as printed (`0x4`).
pub fn first_arguments(stderr: &str) -> Vec<String> {
    let first = first_arg();
    stderr
        .lines()
        .filter(|line| line.contains(" hit "))
        .filter_map(|line| {
            Some(
                line.split_once(first.as_str())?
                    .1
                    .split(' ')
                    .next()?
                    .to_string(),
            )
        })
        .collect()
}
