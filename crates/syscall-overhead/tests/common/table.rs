//! Reading syscall-overhead's tables, for its tests and its lab's grading
//! tests (which include this file by `#[path]`).

/// The median, min and max (ns) of a row `LABEL CALLS MEDIAN MIN MAX RATIOx`;
/// empty if the row has another shape.
pub fn row_figures(line: &str, label: &str) -> Vec<f64> {
    let fields: Vec<&str> = line[label.len()..].split_whitespace().collect();
    if fields.len() != 5 || !fields[4].ends_with('x') || fields[0].parse::<u64>().is_err() {
        return Vec::new();
    }
    fields[1..4].iter().filter_map(|f| f.parse().ok()).collect()
}

/// The numbers right before each `unit` (" MB/s") on a line.
pub fn figures(line: &str, unit: &str) -> Vec<f64> {
    let pieces: Vec<&str> = line.split(unit).collect();
    // The last piece is what follows the last unit, if there is one at all.
    pieces[..pieces.len() - 1]
        .iter()
        .filter_map(|before| before.split_whitespace().last())
        .filter_map(|word| word.parse().ok())
        .collect()
}
