//! `late-threads N`: a process whose threads come and go while a tracer
//! attaches to them, for the attach-seize lab's grading tests.
//!
//! It starts N worker threads, says `ready`, and takes orders on stdin, one
//! a line: `spawn K` starts K more workers, `end K` ends the K newest,
//! `finish` (or the end of stdin) ends them all. Each worker sleeps 1 ms at
//! a time, so its voluntary context switches (/proc/PID/task/TID/status)
//! count up while it runs and stand still while it is stopped: the test
//! reads them there, from the kernel. At the end the target says how many
//! workers it started and how many ran to their end, and exits 0 if all did.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The most workers it keeps at once.
const MOST: usize = 200;

struct Worker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

fn start_worker() -> Worker {
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    Worker { stop, thread }
}

/// Ends `workers` and counts those that ran to their end.
fn end(workers: Vec<Worker>) -> usize {
    for worker in &workers {
        worker.stop.store(true, Ordering::Relaxed);
    }
    workers
        .into_iter()
        .map(|worker| worker.thread.join().is_ok())
        .filter(|&ended| ended)
        .count()
}

pub fn late_threads(initial: Option<&str>) -> ExitCode {
    let Some(initial) = initial.and_then(|n| n.parse::<usize>().ok()) else {
        eprintln!("target: late-threads N: N, the number of threads to start with");
        return ExitCode::from(2);
    };
    let mut workers: Vec<Worker> = (0..initial.min(MOST)).map(|_| start_worker()).collect();
    let mut started = workers.len();
    let mut ended = 0;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ready").and_then(|()| out.flush());
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (order, count) = line.split_once(' ').unwrap_or((line.as_str(), "0"));
        let count = count.trim().parse::<usize>().unwrap_or(0);
        match order {
            "spawn" => {
                let count = count.min(MOST - workers.len());
                workers.extend((0..count).map(|_| start_worker()));
                started += count;
                let _ = writeln!(out, "spawned {count}").and_then(|()| out.flush());
            }
            "end" => {
                let count = count.min(workers.len());
                ended += end(workers.split_off(workers.len() - count));
                let _ = writeln!(out, "ended {count}").and_then(|()| out.flush());
            }
            "finish" => break,
            other => eprintln!("target: no order {other:?}: spawn K, end K or finish"),
        }
    }
    ended += end(workers);
    println!("target: {started} threads started, {ended} ran to their end");
    if ended == started {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
