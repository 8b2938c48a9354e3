//! The grader's own tests of lab-tracer-tracee (not in the students' copy):
//! the command's own exec counts, and the program's signals reach it.

use super::*;

/// With `--max-execs 0` the command itself is one exec too many: it is
/// killed at its own execve, before its first step makes its file. With 1,
/// only the command's first step runs.
#[test]
fn the_commands_own_exec_counts() {
    for max_execs in [0, 1] {
        let chain = Chain::new(random_in(2, 4) as usize, "");
        let run = chain.run(max_execs);
        assert_limited(&chain, max_execs, &run);
    }
}

/// Each step sends itself SIGUSR1 and traps it, the trap making a second
/// file: a signal that stops the tracee is the program's, and must reach it
/// when the tracer restarts it. The limit is checked as before.
#[test]
fn the_programs_signals_reach_it() {
    let steps = random_in(2, 4);
    let max_execs = random_in(1, steps);
    let chain = Chain::new(
        steps as usize,
        "trap ': > \"$0.trapped\"' USR1\nkill -USR1 $$\n",
    );
    let run = chain.run(max_execs);
    assert_limited(&chain, max_execs, &run);
    let ran = (steps.min(max_execs)) as usize;
    let folder = chain.files[0].parent().expect("in the folder");
    for step in 0..ran {
        let trapped = PathBuf::from(format!("{}.trapped", script(folder, step).display()));
        assert!(
            trapped.exists(),
            "{}: step {} sent itself SIGUSR1, and its handler should have run (the signal \
             passed on when the tracer restarted it); the lab said:\n{}",
            run.what,
            step + 1,
            run.stderr
        );
    }
}
