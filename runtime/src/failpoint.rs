//! Fail points for crash tests, on tikv's `fail` crate. Built only with the `failpoints`
//! feature (`sluice build --fail-points`); without it [`crash_point!`] expands to nothing.
//!
//! A program built with them reads `FAILPOINTS` at start: `FAILPOINTS=checkpoint.after=return`
//! kills the process with SIGKILL — exactly what `kill -9` does, no destructor or flush runs —
//! the first time it reaches the checkpoint's `after` point; `2*off->return` the third time.
//! The points, each before and after the step it names:
//! `block_store` (a received block into the receiver log), `allocation` (a batch's blocks
//! and offset ranges into the driver log), `sink_commit` (a partition's transaction in
//! PostgreSQL), `checkpoint` (the state checkpoint file), `batch_completed` (the
//! completion into the driver log).

/// Kills the process if fail point `$name` is set to `return`.
macro_rules! crash_point {
    ($name:literal) => {
        fail::fail_point!($name, |_| $crate::failpoint::kill())
    };
}
pub(crate) use crash_point;

/// SIGKILL to this process: it ends here, as under `kill -9`.
#[cfg(feature = "failpoints")]
pub(crate) fn kill<T>() -> T {
    // SAFETY: kill(2) on our own pid with a valid signal number has no memory effects.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    unreachable!("SIGKILL cannot be caught")
}

/// Reads `FAILPOINTS`; the points stay configured while the returned guard lives.
#[cfg(feature = "failpoints")]
pub(crate) fn setup() -> fail::FailScenario<'static> {
    fail::FailScenario::setup()
}
