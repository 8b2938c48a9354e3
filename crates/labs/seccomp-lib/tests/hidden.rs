//! The grader's own tests for lab-seccomp-lib (not in the students' copy):
//! openat2, socket families other than the internet's, and a random mix of
//! opens. Their points are in lab.toml's [hidden] table.

use workbook::targets::mailbox::test::{pick, random_in};

use super::{check, extra_flags, Folder, Try};

/// openat2(2) fails with ENOSYS whatever it asks, reading included, and
/// makes nothing; openat still reads.
#[test]
fn openat2_fails_with_enosys() {
    let folder = Folder::new("seccomp-lib");
    let tries = vec![
        Try::open(&folder, "openat2", libc::O_RDONLY | extra_flags(), false),
        Try::open(
            &folder,
            "openat2",
            libc::O_WRONLY | libc::O_CREAT | extra_flags(),
            true,
        ),
        Try::open(
            &folder,
            "openat2",
            libc::O_RDWR | libc::O_TRUNC | extra_flags(),
            false,
        ),
        Try::open(&folder, "openat", libc::O_RDONLY | extra_flags(), false),
    ];
    check(tries);
}

/// An allow-list of one family: netlink, packet, vsock, alg or key sockets,
/// two at random, fail with the errno given as well; AF_UNIX still works.
#[test]
fn every_family_but_af_unix_is_refused() {
    const OTHERS: &[(i32, &str)] = &[
        (libc::AF_NETLINK, "AF_NETLINK"),
        (libc::AF_PACKET, "AF_PACKET"),
        (libc::AF_VSOCK, "AF_VSOCK"),
        (libc::AF_ALG, "AF_ALG"),
        (libc::AF_KEY, "AF_KEY"),
        (libc::AF_APPLETALK, "AF_APPLETALK"),
    ];
    let (first, second) = (pick(OTHERS), pick(OTHERS));
    let tries = vec![
        Try::socket(first.0, first.1),
        Try::socket(second.0, second.1),
        Try::socket(libc::AF_UNIX, "AF_UNIX"),
    ];
    check(tries);
}

/// Ten opens at random: openat or open, any access mode, with or without
/// O_CREAT and O_TRUNC, on new or existing files, or creat.
#[test]
fn a_random_mix_of_opens() {
    let folder = Folder::new("seccomp-lib");
    let tries = (0..10)
        .map(|_| {
            if random_in(0..=9) == 0 {
                return Try::creat(&folder);
            }
            let call = pick(&["openat", "open"]);
            let access = pick(&[libc::O_RDONLY, libc::O_RDONLY, libc::O_WRONLY, libc::O_RDWR]);
            let create = pick(&[0, 0, libc::O_CREAT]);
            let truncate = pick(&[0, 0, libc::O_TRUNC]);
            let new = create != 0 && random_in(0..=1) == 1;
            Try::open(
                &folder,
                call,
                access | create | truncate | extra_flags(),
                new,
            )
        })
        .collect();
    check(tries);
}
