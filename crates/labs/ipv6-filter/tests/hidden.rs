//! The grader's own tests for lab-ipv6-filter (students do not have this
//! file): the same checks, from another angle.

use super::*;

/// Two ports whose bytes are each other's swapped (0x1234 and 0x3412), at
/// random: the program built for each, attached by its own run of the lab
/// to its own Unix datagram socket, must let through exactly the frames to
/// its port, of 300 random frames aimed at each. A program that reads the
/// port in the wrong byte order keeps the other port's frames; one that
/// does not follow its argument keeps the same frames for both.
#[test]
fn each_port_gets_a_program_of_its_own() {
    let port = random_port();
    let swapped = port.swap_bytes();
    let mut frames = frames::frames(300, port, 1);
    frames.extend(frames::frames(300, swapped, 1));
    for chosen in [port, swapped] {
        if let Err(message) = in_a_namespace_of_our_own(|| unix_check(chosen, &frames)) {
            panic!("{message}");
        }
    }
}
