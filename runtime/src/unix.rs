//! The operating-system calls of a PID 1: the signal mask, the signalfd, waitpid, kill and /proc.
//!
//! Everything here goes through `nix`'s safe wrappers but two calls, the registration of the signalfd
//! with tokio's reactor and the reset of the child's signals between `fork` and `exec`; they are the
//! crate's only `unsafe` code.

use std::io;

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;

use crate::exit;

/// Signals that stay with the kernel's default action: those raised by faults in this very process,
/// and SIGPIPE, which the standard library ignores so that writes fail with EPIPE instead.
const NOT_HANDLED: [Signal; 10] = [
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGPIPE,
];

/// Blocks every signal the entrypoint handles, in the calling thread. Call it before any other thread
/// starts, so that all threads inherit the mask and the signals are read from the signalfd alone.
/// [`restore_signals_on_exec`] undoes it in the command.
pub fn block_signals() -> Result<SigSet, Errno> {
    let mut set = SigSet::all();
    for signal in NOT_HANDLED {
        set.remove(signal);
    }
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    Ok(set)
}

/// Makes `command` start with an empty signal mask and every signal at its default action. A child
/// inherits the mask and ignored signals across `exec`, and the standard library resets neither (only
/// SIGPIPE's): without this, the command would ignore the very SIGTERM the supervisor forwards to it,
/// or the SIGHUP, SIGINT and SIGQUIT that `nohup` or a shell's `&` left ignored in the entrypoint.
#[expect(
    unsafe_code,
    reason = "CommandExt::pre_exec is unsafe: the hook runs between fork and exec"
)]
pub fn restore_signals_on_exec(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: the hook runs in the forked child before exec and calls only pthread_sigmask and
    // sigaction, both async-signal-safe; it allocates nothing and touches no lock.
    unsafe {
        command.pre_exec(|| {
            pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            for signal in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
                nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl)?;
            }
            Ok(())
        });
    }
}

/// True for the signals that mean "stop the container".
pub fn is_stop(signal: Signal) -> bool {
    matches!(
        signal,
        Signal::SIGTERM | Signal::SIGINT | Signal::SIGHUP | Signal::SIGQUIT
    )
}

/// The blocked signals, read one at a time from a non-blocking signalfd on tokio's reactor.
#[derive(Debug)]
pub struct Signals {
    fd: AsyncFd<SignalFd>,
}

impl Signals {
    /// A signalfd for `mask` (as returned by [`block_signals`]); needs a tokio runtime.
    #[expect(
        unsafe_code,
        reason = "tokio's AsyncFd::register is unsafe: it cannot check that the fd outlives it"
    )]
    pub fn new(mask: &SigSet) -> io::Result<Self> {
        let fd = SignalFd::with_flags(mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        // SAFETY: the `SignalFd` owns its descriptor and moves into the `AsyncFd`, which deregisters it
        // before dropping it; nothing else closes or replaces the descriptor meanwhile.
        let fd = unsafe { AsyncFd::register(fd)? };
        Ok(Self { fd })
    }

    /// The next signal. Several deliveries of one signal may arrive as one (SIGCHLD especially).
    pub async fn recv(&mut self) -> io::Result<Signal> {
        loop {
            let mut guard = self.fd.readable_mut().await?;
            let read = guard.try_io(|inner| match inner.get_mut().read_signal() {
                Ok(Some(info)) => Ok(info.ssi_signo),
                Ok(None) => Err(io::ErrorKind::WouldBlock.into()),
                Err(errno) => Err(errno.into()),
            });
            match read {
                Ok(Ok(signo)) => match i32::try_from(signo).ok().and_then(|n| Signal::try_from(n).ok()) {
                    Some(signal) => return Ok(signal),
                    None => tracing::debug!(signo, "ignored a signal this platform does not name"),
                },
                Ok(Err(error)) => return Err(error),
                Err(_would_block) => continue,
            }
        }
    }
}

/// Sends `signal` to `pid`; a process that is already gone is not an error.
pub fn send(pid: Pid, signal: Signal) {
    match kill(pid, signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(errno) => tracing::warn!(pid = pid.as_raw(), %signal, "could not signal process: {errno}"),
    }
}

/// Reaps every exited child (several exits can share one SIGCHLD) and returns the exit code of
/// `main` if it was among them: its own code, or 128+N when signal N killed it.
pub fn reap(main: Pid) -> Option<u8> {
    let mut main_code = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => {
                let code = u8::try_from(code).unwrap_or(u8::MAX);
                note_reaped(pid, main, code, &mut main_code);
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) => {
                note_reaped(pid, main, exit::signal_code(signal as i32), &mut main_code);
            }
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return main_code,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(errno) => {
                tracing::warn!("waitpid failed: {errno}");
                return main_code;
            }
        }
    }
}

fn note_reaped(pid: Pid, main: Pid, code: u8, main_code: &mut Option<u8>) {
    if pid == main {
        *main_code = Some(code);
    } else {
        tracing::debug!(pid = pid.as_raw(), code, "reaped an orphaned process");
    }
}

/// When not PID 1 (on a host, under test), become a child subreaper so that orphans are reparented to
/// this process and reaped here, as they would be in a container.
pub fn adopt_orphans() {
    if std::process::id() != 1
        && let Err(errno) = nix::sys::prctl::set_child_subreaper(true)
    {
        tracing::warn!("could not become a child subreaper: {errno}");
    }
}

/// Makes this process non-dumpable. The kernel then gives its `/proc/<pid>/environ`, `mem`, `fd` and
/// `maps` to root alone and refuses `ptrace` from its own uid, so the developer (the same uid in the
/// licensed docker image) can neither read the license key from the entrypoint's environment nor
/// attach a debugger to it. The flag is not inherited across `execve`, so the command runs as usual.
pub fn hide_from_same_uid() {
    if let Err(errno) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!("could not make the entrypoint non-dumpable: {errno}");
    }
}

/// Becomes `uid`:`gid` for good: no supplementary groups, then the gid and the uid as real, effective
/// and saved IDs. A process that leaves uid 0 this way keeps no capability, so from here on the
/// entrypoint holds nothing a root process would. A change of uid resets the dumpable flag to the
/// host's `fs.suid_dumpable`, which may be 1, so the entrypoint hides itself again.
pub fn become_user(uid: u32, gid: u32) -> nix::Result<()> {
    use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};
    let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
    setgroups(&[])?;
    setresgid(gid, gid, gid)?;
    setresuid(uid, uid, uid)?;
    hide_from_same_uid();
    Ok(())
}

/// The live children of this process, read from /proc (zombies included until reaped).
pub fn children() -> Vec<Pid> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let pid: i32 = name.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'.
            let after = &stat[stat.rfind(')')? + 1..];
            let ppid = after.split_whitespace().nth(1)?;
            (ppid == me).then(|| Pid::from_raw(pid))
        })
        .collect()
}
