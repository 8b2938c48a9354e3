//! Attack: an exponential macro expansion (each level doubles, 64 levels): the build blows up.
#![allow(unused_imports, unused_variables)]
// Crate-level: the module's copy is ignored, but 64 levels fit the default limit anyway.
#![recursion_limit = "100000"]

use workbook::bpf::sock_filter;

/// Each `#` doubles the work: twice!(# # #) is 8 empty expansions.
macro_rules! twice {
    () => {};
    (# $($rest:tt)*) => {
        twice!($($rest)*);
        twice!($($rest)*);
    };
}

twice!(# # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #
       # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #);

/// Never built.
pub fn allow_list(numbers: &[u64]) -> Vec<sock_filter> {
    Vec::new()
}
