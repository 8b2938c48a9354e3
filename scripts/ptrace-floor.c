/*
 * ptrace-floor: the least a PTRACE_SYSCALL tracer can do, for
 * scripts/bench-blocker to measure against.
 *   ptrace-floor COMMAND [ARG...]
 * It runs COMMAND traced, stops it at every syscall's entry and exit, reads
 * the syscall number (orig_rax) with PTRACE_PEEKUSER at the entry, does
 * nothing at the exit, follows no children, passes signals on, and exits
 * with COMMAND's status (128 + signal if COMMAND was killed). x86_64 only.
 * bench-blocker builds it with: cc -O2 -o target/ptrace-floor scripts/ptrace-floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where the syscall number goes, so that reading it is not optimised away. */
volatile long last_nr = -1;

static int fail(const char *what, pid_t pid) {
  fprintf(stderr, "ptrace-floor: %s (pid %d): %s\n", what, (int)pid, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: ptrace-floor COMMAND [ARG...]\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0)
    return fail("fork", 0);
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
      perror("ptrace-floor: PTRACE_TRACEME");
      _exit(127);
    }
    raise(SIGSTOP);
    execvp(argv[1], argv + 1);
    fprintf(stderr, "ptrace-floor: execvp %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }

  int status;
  if (waitpid(pid, &status, __WALL) < 0)
    return fail("waitpid", pid);
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
    fprintf(stderr, "ptrace-floor: pid %d: wait status %#x instead of the SIGSTOP stop\n",
            (int)pid, status);
    return 1;
  }
  /* TRACESYSGOOD tells syscall stops from SIGTRAP; TRACEEXEC turns the
   * SIGTRAP after execve into an event stop; EXITKILL: no orphan tracee. */
  long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SETOPTIONS, pid, 0, options) < 0)
    return fail("PTRACE_SETOPTIONS", pid);

  int entering = 1;           /* stops alternate: entry, exit, entry, ... */
  long signal = 0;
  for (;;) {
    if (ptrace(PTRACE_SYSCALL, pid, 0, signal) < 0 && errno != ESRCH)
      return fail("PTRACE_SYSCALL", pid);
    signal = 0;
    if (waitpid(pid, &status, __WALL) < 0)
      return fail("waitpid", pid);
    if (WIFEXITED(status))
      return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
      return 128 + WTERMSIG(status);
    if (!WIFSTOPPED(status))
      continue;
    int stop = WSTOPSIG(status);
    if (stop == (SIGTRAP | 0x80)) {
      if (entering) {
        errno = 0;
        long nr = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, orig_rax), 0);
        if (nr == -1 && errno != 0 && errno != ESRCH)
          return fail("PTRACE_PEEKUSER orig_rax", pid);
        last_nr = nr;
      }
      entering = !entering;
    } else if (status >> 16 == 0) {
      signal = stop; /* a signal for the tracee: pass it on */
    }
    /* else an event stop (exec): resume with no signal */
  }
}
