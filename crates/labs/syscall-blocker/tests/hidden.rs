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
    let denied = d.file_name().unwrap().to_string_lossy().into_owned();
    let other = o.file_name().unwrap().to_string_lossy().into_owned();
    let into_name = into.file_name().unwrap().to_string_lossy().into_owned();
    let sub_name = sub.file_name().unwrap().to_string_lossy().into_owned();
    let other_fd = scene.dirfd(&o);
    let mut planned = Vec::new();
    let mut add = |cwd: &Path, path: String, lands: PathBuf, expect: Expect, dirfd: Option<i32>| {
        let call = match dirfd {
            Some(_) => "openat",
            None => any_call(),
        };
        let case = Planned::new(call, cwd, &path, &lands, expect)
            .at(dirfd.unwrap_or(libc::AT_FDCWD))
            .maybe_reading();
        planned.push(case);
    };
    let name = random_name("f-");
    add(
        &scene.base,
        format!("{}/{name}", into.display()),
        d.join(&name),
        Expect::Refused,
        None,
    );
    let name = random_name("f-");
    add(
        &o,
        format!("{into_name}/{sub_name}/{name}"),
        sub.join(&name),
        Expect::Refused,
        None,
    );
    let name = random_name("f-");
    add(
        &d,
        format!("{into_name}/{name}"),
        d.join(&name),
        Expect::Refused,
        Some(other_fd),
    );
    let name = random_name("f-");
    add(
        &scene.base,
        format!("{}/{name}", out.display()),
        o.join(&name),
        Expect::Runs,
        None,
    );
    let name = random_name("f-");
    add(
        &scene.base,
        format!("{}/../../{other}/{name}", sub.display()),
        o.join(&name),
        Expect::Runs,
        None,
    );
    let name = random_name("f-");
    add(
        &scene.base,
        format!("{}/../{denied}/{name}", o.display()),
        d.join(&name),
        Expect::Refused,
        None,
    );
    let name = random_name("f-");
    add(
        &o,
        format!("../{other}/./{name}"),
        o.join(&name),
        Expect::Runs,
        None,
    );
    // An existing symlink to a file under the folder, opened to read.
    let mut aliased = Planned::new(
        pick(&["open", "openat"]),
        &o,
        &alias.file_name().unwrap().to_string_lossy(),
        &secret,
        Expect::Refused,
    );
    aliased.case.create = false;
    planned.push(aliased);
    run(&scene, planned);
}

/// Every call that opens a file by its path is watched: openat2 (with a
/// dirfd and without), open and creat; and openat's dirfd is the int the
/// kernel reads, whatever the upper half of its register holds.
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
    ] {
        let name = random_name("f-");
        let relative = lands == cwd || dirfd != libc::AT_FDCWD;
        let path = match relative {
            true => name.clone(),
            false => lands.join(&name).to_string_lossy().into_owned(),
        };
        let mut case = Planned::new(call, cwd, &path, &lands.join(&name), expect)
            .at(dirfd)
            .maybe_reading();
        case.case.dirfd_high_bits = high_bits;
        planned.push(case);
    }
    run(&scene, planned);
}
