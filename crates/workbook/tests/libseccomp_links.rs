//! The libseccomp feature links against the runtime library alone.
#![cfg(feature = "libseccomp")]

#[test]
fn libseccomp_runtime_is_linked() {
    let version = workbook::libseccomp::ScmpVersion::current().expect("libseccomp answers");
    assert_eq!(version.major, 2, "{version:?}");
}
