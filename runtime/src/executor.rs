//! The executor: the one seam through which a batch's partitions run.
//!
//! Locally that is a pool of worker threads; a cluster engine takes its place later, with
//! scheduling, receiving and checkpointing staying above this seam.

use crate::error::{Error, Result};

/// Runs independent partition tasks in parallel and returns their results in task order.
pub struct Executor {
    pool: rayon::ThreadPool,
}

impl Executor {
    pub fn local(threads: usize) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("sluice-worker-{i}"))
            .build()
            .map_err(|e| Error::Settings(format!("cannot start worker threads: {e}")))?;
        Ok(Executor { pool })
    }

    /// Runs every task; a task that panics makes this panic on the caller's thread,
    /// where the job scheduler turns it into a failed job.
    pub fn run_tasks<R, F>(&self, tasks: Vec<F>) -> Vec<R>
    where
        R: Send,
        F: FnOnce() -> R + Send,
    {
        use rayon::prelude::*;
        self.pool
            .install(|| tasks.into_par_iter().map(|t| t()).collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_task_order() {
        let ex = super::Executor::local(2).unwrap();
        let tasks: Vec<_> = (0..50u64).map(|i| move || i * i).collect();
        let out = ex.run_tasks(tasks);
        assert_eq!(out, (0..50u64).map(|i| i * i).collect::<Vec<_>>());
    }
}
