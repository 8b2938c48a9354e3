//! The grader's own tests of lab-syscall-blocker (not in the students'
//! copy): the same runs as grade.rs, from other angles.

use super::*;

/// Symlinks and `..` are resolved as the kernel resolves them: a symlink
/// from outside into the guarded folder leads under it, one from the
/// guarded folder to outside leads out of it, and `..` climbs real
/// parents.
#[test]
fn symlinks_and_dot_dot_are_resolved_as_the_kernel_does() {
    let mut scene = Scene::new();
    let (d, o) = (scene.denied.clone(), scene.other.clone());
    let into = o.join(random_name("into-"));
    std::os::unix::fs::symlink(&d, &into).expect("a symlink to the guarded folder");
    let out = d.join(random_name("out-"));
    std::os::unix::fs::symlink(&o, &out).expect("a symlink out of the guarded folder");
    let secret = d.join(random_name("secret-"));
    std::fs::write(&secret, "secret\n").expect("a file in the guarded folder");
    let alias = o.join(random_name("alias-"));
    std::os::unix::fs::symlink(&secret, &alias).expect("a symlink to a file in the guarded folder");
    let sub = scene.subfolder(&d, 1, 8);
    let (denied, other) = (name_of(&d), name_of(&o));
    let (into_name, sub_name) = (name_of(&into), name_of(&sub));
    let other_fd = scene.dirfd(&o);
    let (b, at_cwd) = (scene.base.clone(), libc::AT_FDCWD);
    let mut planned: Vec<Planned> = [
        (
            &b,
            at_cwd,
            format!("{}/", into.display()),
            &d,
            Expect::Refused,
        ),
        (
            &o,
            at_cwd,
            format!("{into_name}/{sub_name}/"),
            &sub,
            Expect::Refused,
        ),
        (&d, other_fd, format!("{into_name}/"), &d, Expect::Refused),
        (&b, at_cwd, format!("{}/", out.display()), &o, Expect::Runs),
        (
            &b,
            at_cwd,
            format!("{}/../../{other}/", sub.display()),
            &o,
            Expect::Runs,
        ),
        (
            &b,
            at_cwd,
            format!("{}/../{denied}/", o.display()),
            &d,
            Expect::Refused,
        ),
        (&o, at_cwd, format!("../{other}/./"), &o, Expect::Runs),
    ]
    .into_iter()
    .map(|(cwd, dirfd, prefix, folder, expect)| {
        Planned::named(None, cwd, dirfd, &prefix, folder, expect)
    })
    .collect();
    // An existing symlink to a file under the folder, opened to read.
    planned.push(
        Planned::new(
            pick(&here(&["open", "openat"])),
            &o,
            &name_of(&alias),
            &secret,
            Expect::Refused,
        )
        .reading(),
    );
    run(&scene, planned);
}

/// Every call that opens a file by its path is watched: openat2 (with a
/// dirfd and without), open and creat (where the architecture has them);
/// and openat's dirfd is the int the kernel reads, whatever the upper half
/// of its register holds.
#[test]
fn every_call_that_opens_by_name_is_watched() {
    let mut scene = Scene::new();
    let (d, o) = (scene.denied.clone(), scene.other.clone());
    let denied_fd = scene.dirfd(&d);
    let other_fd = scene.dirfd(&o);
    let high = || random_in(1..=u64::from(u32::MAX)) as u32;
    let mut planned = Vec::new();
    for (call, cwd, dirfd, high_bits, lands, expect) in [
        ("openat2", &o, libc::AT_FDCWD, 0, &d, Expect::Refused),
        ("openat2", &d, denied_fd, 0, &d, Expect::Refused),
        ("openat2", &d, other_fd, 0, &o, Expect::Runs),
        ("openat2", &o, libc::AT_FDCWD, 0, &o, Expect::Runs),
        ("open", &d, libc::AT_FDCWD, 0, &d, Expect::Refused),
        ("creat", &d, libc::AT_FDCWD, 0, &d, Expect::Refused),
        ("open", &o, libc::AT_FDCWD, 0, &o, Expect::Runs),
        ("creat", &o, libc::AT_FDCWD, 0, &o, Expect::Runs),
        ("openat", &d, libc::AT_FDCWD, high(), &d, Expect::Refused),
        ("openat", &o, libc::AT_FDCWD, high(), &o, Expect::Runs),
        ("openat", &o, denied_fd, high(), &d, Expect::Refused),
        ("openat", &d, other_fd, high(), &o, Expect::Runs),
    ]
    .into_iter()
    .filter(|(call, ..)| !here(&[call]).is_empty())
    {
        // Relative where it can be, else absolute.
        let prefix = match lands == cwd || dirfd != libc::AT_FDCWD {
            true => String::new(),
            false => format!("{}/", lands.display()),
        };
        let mut case = Planned::named(Some(call), cwd, dirfd, &prefix, lands, expect);
        case.case.dirfd_high_bits = high_bits;
        planned.push(case);
    }
    run(&scene, planned);
}
