//! The executor: the one seam through which a batch's partitions run.
//!
//! Locally that is a pool of worker threads; a cluster engine takes its place later, with
//! scheduling, receiving and checkpointing staying above this seam.
//!
//! A task is a partition's work, re-runnable from its inputs: one that panics or returns
//! an error runs again, up to `task_max_failures` attempts (Spark's `spark.task.maxFailures`).
//! With speculation on, once a quantile of a task set has finished, a task running longer
//! than a multiple of the finished tasks' median gets a second attempt (Spark's
//! `spark.speculation`); the first attempt to succeed gives the result and the other's is
//! dropped when it ends (threads cannot be killed). Attempts that write somewhere ask
//! [`Attempt::can_commit`] first: one attempt per partition is allowed to (Spark's
//! `OutputCommitCoordinator`).

use crate::error::{Error, Result};
use crate::settings::{Settings, Speculation};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A partition's work: may run more than once, also at the same time as itself.
pub type Task<R> = Arc<dyn Fn(&Attempt) -> std::result::Result<R, String> + Send + Sync>;

/// One run of a task.
pub struct Attempt {
    /// The task's index in its set.
    pub partition: usize,
    /// 0 for the first run, then counting every retry and speculative copy.
    pub number: u32,
    /// Which attempt of the partition may commit its output; `NO_COMMITTER` while none
    /// asked, or after the one allowed failed.
    committer: Arc<AtomicU32>,
    /// Set when this attempt asked to commit and was refused: what it returns then is
    /// neither a result nor a failure.
    denied: AtomicBool,
}

const NO_COMMITTER: u32 = u32::MAX;

impl Attempt {
    fn new(partition: usize, number: u32, committer: Arc<AtomicU32>) -> Self {
        Attempt {
            partition,
            number,
            committer,
            denied: AtomicBool::new(false),
        }
    }

    /// Whether this attempt may make its output visible: the first attempt of the
    /// partition to ask is, and every other one is refused while that one has not failed.
    /// A refused attempt should return without committing; the executor takes the
    /// result of the one allowed.
    pub fn can_commit(&self) -> bool {
        let allowed = match self.committer.compare_exchange(
            NO_COMMITTER,
            self.number,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => true,
            Err(holder) => holder == self.number,
        };
        if !allowed {
            self.denied.store(true, Ordering::Release);
        }
        allowed
    }

    /// A failed attempt gives up its right to commit, if it had it.
    fn release(&self) {
        let _ = self.committer.compare_exchange(
            self.number,
            NO_COMMITTER,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

/// A task that failed on every one of its attempts: the task set fails with it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskFailure {
    pub partition: usize,
    pub attempts: u32,
    /// The last attempt's error or panic message.
    pub message: String,
    /// Whether the last attempt panicked (a bug, or bad data) rather than returned an
    /// error (a sink or file system that failed, which may succeed later).
    pub panicked: bool,
}

impl std::fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "partition {} failed {} times, last: {}",
            self.partition, self.attempts, self.message
        )
    }
}

/// What happened to a task that the caller may want to report.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskEvent {
    /// An attempt failed; `retrying` says whether another one follows.
    Failed {
        partition: usize,
        attempt: u32,
        error: String,
        retrying: bool,
    },
    /// A second attempt of a slow task was started.
    SpeculationLaunched {
        partition: usize,
        attempt: u32,
        /// How long the first attempt had run.
        running_ms: u64,
    },
    /// A task's result came from a speculative attempt, which overtook the first.
    SpeculationWon { partition: usize, attempt: u32 },
}

/// Runs task sets on a pool of worker threads.
pub struct Executor {
    pool: rayon::ThreadPool,
    max_failures: u32,
    speculation: Option<Speculation>,
}

/// How often a running task set is checked for tasks to speculate on (Spark's
/// `spark.speculation.interval`).
const SPECULATION_INTERVAL: Duration = Duration::from_millis(100);

/// How an attempt ended.
enum Outcome<R> {
    Done(R),
    /// The message, and whether it was a panic.
    Failed(String, bool),
    /// Refused the commit: another attempt of the partition delivers.
    Denied,
}

impl Executor {
    pub fn local(settings: &Settings) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(settings.worker_threads.max(1))
            .thread_name(|i| format!("sluice-worker-{i}"))
            .build()
            .map_err(|e| Error::Settings(format!("cannot start worker threads: {e}")))?;
        Ok(Executor {
            pool,
            max_failures: settings.task_max_failures.max(1),
            speculation: settings.speculation,
        })
    }

    /// Runs every task until it succeeds and returns the results in task order, or the
    /// first task that failed `task_max_failures` times. `speculate` allows speculative
    /// copies of this set's tasks (when the settings turn speculation on): tasks whose
    /// output is not idempotent pass `false`. `observe` hears retries and speculation.
    pub fn run<R: Send + 'static>(
        &self,
        tasks: Vec<Task<R>>,
        speculate: bool,
        observe: &dyn Fn(TaskEvent),
    ) -> std::result::Result<Vec<R>, TaskFailure> {
        if self.pool.current_thread_index().is_some() {
            // Called from inside a task: the pool's threads may all be waiting here, so run
            // on this thread, one task after another.
            return tasks
                .iter()
                .enumerate()
                .map(|(i, task)| self.run_inline(i, task, observe))
                .collect();
        }
        let speculation = self.speculation.filter(|_| speculate);
        TaskSet::new(self, tasks, speculation).run(observe)
    }

    fn run_inline<R>(
        &self,
        partition: usize,
        task: &Task<R>,
        observe: &dyn Fn(TaskEvent),
    ) -> std::result::Result<R, TaskFailure> {
        let committer = Arc::new(AtomicU32::new(NO_COMMITTER));
        let mut number = 0;
        loop {
            let attempt = Attempt::new(partition, number, committer.clone());
            match attempt_once(task, &attempt) {
                Outcome::Done(r) => return Ok(r),
                Outcome::Denied => {
                    unreachable!("one attempt runs at a time, and failed ones release")
                }
                Outcome::Failed(message, panicked) => {
                    number += 1;
                    let retrying = number < self.max_failures;
                    observe(TaskEvent::Failed {
                        partition,
                        attempt: attempt.number,
                        error: message.clone(),
                        retrying,
                    });
                    if !retrying {
                        return Err(TaskFailure {
                            partition,
                            attempts: number,
                            message,
                            panicked,
                        });
                    }
                }
            }
        }
    }

    /// Runs tasks that consume their inputs, so cannot run twice (updating operator
    /// state in place): a panic in one makes this panic on the caller's thread, where
    /// the job scheduler turns it into a failed job.
    pub fn run_once<R, F>(&self, tasks: Vec<F>) -> Vec<R>
    where
        R: Send,
        F: FnOnce() -> R + Send,
    {
        use rayon::prelude::*;
        self.pool
            .install(|| tasks.into_par_iter().map(|t| t()).collect())
    }
}

fn attempt_once<R>(task: &Task<R>, attempt: &Attempt) -> Outcome<R> {
    let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task(attempt))) {
        Ok(Ok(r)) => Outcome::Done(r),
        Ok(Err(e)) => Outcome::Failed(e, false),
        Err(panic) => Outcome::Failed(panic_message(&*panic), true),
    };
    match outcome {
        _ if attempt.denied.load(Ordering::Acquire) => Outcome::Denied,
        Outcome::Failed(..) => {
            attempt.release();
            outcome
        }
        done => done,
    }
}

/// What a panic said, for reports.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

/// The bookkeeping of one task set while it runs.
struct TaskSet<'a, R> {
    exec: &'a Executor,
    tasks: Vec<Task<R>>,
    speculation: Option<Speculation>,
    results: Vec<Option<R>>,
    /// Per task: its attempts still running, with when each started.
    running: Vec<Vec<(u32, Instant)>>,
    next_attempt: Vec<u32>,
    failures: Vec<u32>,
    /// Per task: the attempt started speculatively, if one was.
    speculative: Vec<Option<u32>>,
    committers: Vec<Arc<AtomicU32>>,
    /// How long each successful task took.
    durations: Vec<Duration>,
    done: usize,
    tx: mpsc::Sender<(usize, u32, Outcome<R>, Duration)>,
    rx: mpsc::Receiver<(usize, u32, Outcome<R>, Duration)>,
}

impl<'a, R: Send + 'static> TaskSet<'a, R> {
    fn new(exec: &'a Executor, tasks: Vec<Task<R>>, speculation: Option<Speculation>) -> Self {
        let n = tasks.len();
        let (tx, rx) = mpsc::channel();
        TaskSet {
            exec,
            tasks,
            speculation,
            results: (0..n).map(|_| None).collect(),
            running: vec![Vec::new(); n],
            next_attempt: vec![0; n],
            failures: vec![0; n],
            speculative: vec![None; n],
            committers: (0..n)
                .map(|_| Arc::new(AtomicU32::new(NO_COMMITTER)))
                .collect(),
            durations: Vec::with_capacity(n),
            done: 0,
            tx,
            rx,
        }
    }

    fn launch(&mut self, i: usize) -> u32 {
        let number = self.next_attempt[i];
        self.next_attempt[i] += 1;
        self.running[i].push((number, Instant::now()));
        let (task, tx) = (self.tasks[i].clone(), self.tx.clone());
        let attempt = Attempt::new(i, number, self.committers[i].clone());
        self.exec.pool.spawn(move || {
            let start = Instant::now();
            let outcome = attempt_once(&task, &attempt);
            // The set may have finished without this attempt (a speculative loser).
            let _ = tx.send((attempt.partition, attempt.number, outcome, start.elapsed()));
        });
        number
    }

    fn run(mut self, observe: &dyn Fn(TaskEvent)) -> std::result::Result<Vec<R>, TaskFailure> {
        let n = self.tasks.len();
        for i in 0..n {
            self.launch(i);
        }
        while self.done < n {
            let message = match self.speculation {
                Some(_) => match self.rx.recv_timeout(SPECULATION_INTERVAL) {
                    Ok(m) => Some(m),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("set holds a sender"),
                },
                None => Some(self.rx.recv().expect("the set holds a sender")),
            };
            if let Some((i, number, outcome, took)) = message {
                self.running[i].retain(|(a, _)| *a != number);
                if self.results[i].is_some() {
                    continue;
                }
                match outcome {
                    Outcome::Denied => {
                        // The attempt allowed to commit delivers, unless it failed meanwhile.
                        if self.running[i].is_empty() {
                            self.launch(i);
                        }
                    }
                    Outcome::Done(r) => {
                        self.results[i] = Some(r);
                        self.done += 1;
                        self.durations.push(took);
                        if self.speculative[i] == Some(number) {
                            observe(TaskEvent::SpeculationWon {
                                partition: i,
                                attempt: number,
                            });
                        }
                    }
                    Outcome::Failed(message, panicked) => {
                        self.failures[i] += 1;
                        let retrying = self.failures[i] < self.exec.max_failures;
                        observe(TaskEvent::Failed {
                            partition: i,
                            attempt: number,
                            error: message.clone(),
                            retrying,
                        });
                        if !retrying {
                            return Err(TaskFailure {
                                partition: i,
                                attempts: self.failures[i],
                                message,
                                panicked,
                            });
                        }
                        if self.running[i].is_empty() {
                            self.launch(i);
                        }
                    }
                }
            }
            self.speculate(observe);
        }
        Ok(self
            .results
            .into_iter()
            .map(|r| r.expect("every task succeeded"))
            .collect())
    }

    /// Starts a second attempt of each task that has run much longer than the finished
    /// ones, once enough of them have finished.
    fn speculate(&mut self, observe: &dyn Fn(TaskEvent)) {
        let Some(s) = self.speculation else { return };
        let n = self.tasks.len();
        let needed = ((s.quantile * n as f64).floor() as usize).max(1);
        if self.done < needed || self.done == n {
            return;
        }
        let mut sorted = self.durations.clone();
        sorted.sort();
        let median = sorted[sorted.len() / 2];
        let threshold = median.mul_f64(s.multiplier).max(s.min_runtime);
        for i in 0..n {
            if self.results[i].is_some() || self.speculative[i].is_some() {
                continue;
            }
            let [(_, started)] = self.running[i][..] else {
                continue;
            };
            let running = started.elapsed();
            if running > threshold {
                let attempt = self.launch(i);
                self.speculative[i] = Some(attempt);
                observe(TaskEvent::SpeculationLaunched {
                    partition: i,
                    attempt,
                    running_ms: running.as_millis() as u64,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    fn executor(speculation: Option<Speculation>) -> Executor {
        let settings = Settings {
            worker_threads: 2,
            speculation,
            ..Settings::default()
        };
        Executor::local(&settings).unwrap()
    }

    fn events() -> (Arc<Mutex<Vec<TaskEvent>>>, impl Fn(TaskEvent)) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        (seen, move |e| sink.lock().unwrap().push(e))
    }

    #[test]
    fn results_come_back_in_task_order() {
        let ex = executor(None);
        let tasks: Vec<Task<u64>> = (0..50u64)
            .map(|i| Arc::new(move |_: &Attempt| Ok(i * i)) as Task<u64>)
            .collect();
        let out = ex.run(tasks, true, &|_| {}).unwrap();
        assert_eq!(out, (0..50u64).map(|i| i * i).collect::<Vec<_>>());
    }

    #[test]
    fn a_failing_task_runs_again_and_only_it() {
        let ex = executor(None);
        let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
        let tasks: Vec<Task<usize>> = (0..4)
            .map(|i| {
                let runs = runs.clone();
                Arc::new(move |a: &Attempt| {
                    runs[i].fetch_add(1, Ordering::SeqCst);
                    match (i, a.number) {
                        (1, 0) => panic!("bad record"),
                        (2, 0 | 1) => Err("sink down".to_string()),
                        _ => Ok(i * 10),
                    }
                }) as Task<usize>
            })
            .collect();
        let (seen, observe) = events();
        assert_eq!(ex.run(tasks, false, &observe).unwrap(), vec![0, 10, 20, 30]);
        let runs: Vec<usize> = runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        assert_eq!(runs, vec![1, 2, 3, 1]);
        let failed: Vec<(usize, u32, bool)> = seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                TaskEvent::Failed {
                    partition,
                    attempt,
                    retrying,
                    ..
                } => Some((*partition, *attempt, *retrying)),
                _ => None,
            })
            .collect();
        assert_eq!(failed.len(), 3);
        assert!(failed.contains(&(1, 0, true)) && failed.contains(&(2, 1, true)));
    }

    #[test]
    fn a_task_failing_every_attempt_fails_the_set() {
        let ex = executor(None);
        let tasks: Vec<Task<()>> = vec![
            Arc::new(|_: &Attempt| Ok(())),
            Arc::new(|a: &Attempt| panic!("attempt {} broke", a.number)),
        ];
        let failure = ex.run(tasks, false, &|_| {}).unwrap_err();
        assert_eq!(failure.partition, 1);
        assert_eq!(failure.attempts, 4);
        assert!(failure.panicked);
        assert!(failure.message.contains("attempt 3 broke"), "{failure}");
    }

    #[test]
    fn a_straggler_is_overtaken_by_its_speculative_copy() {
        let ex = executor(Some(Speculation::default()));
        // Task 3's first attempt hangs until the test lets it go (or 60 s pass): without
        // speculation the set could not finish before that.
        let (release, hold) = mpsc::channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let commits = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<Task<(usize, u32)>> = (0..4usize)
            .map(|i| {
                let (hold, commits) = (hold.clone(), commits.clone());
                Arc::new(move |a: &Attempt| {
                    if i == 3 && a.number == 0 {
                        let _ = hold.lock().unwrap().recv_timeout(Duration::from_secs(60));
                    } else {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    if a.can_commit() {
                        commits.lock().unwrap().push((i, a.number));
                    }
                    Ok((i, a.number))
                }) as Task<(usize, u32)>
            })
            .collect();
        let (seen, observe) = events();
        let out = ex.run(tasks, true, &observe).unwrap();
        assert_eq!(out, vec![(0, 0), (1, 0), (2, 0), (3, 1)]);
        release.send(()).unwrap();
        let seen = seen.lock().unwrap().clone();
        assert!(
            matches!(
                seen[..],
                [
                    TaskEvent::SpeculationLaunched {
                        partition: 3,
                        attempt: 1,
                        ..
                    },
                    TaskEvent::SpeculationWon {
                        partition: 3,
                        attempt: 1
                    }
                ]
            ),
            "{seen:?}"
        );
        // The straggler ends later and is refused the commit its copy made.
        std::thread::sleep(Duration::from_millis(200));
        let mut commits = commits.lock().unwrap().clone();
        commits.sort();
        assert_eq!(commits, vec![(0, 0), (1, 0), (2, 0), (3, 1)]);
    }

    #[test]
    fn without_speculation_a_slow_task_is_waited_for() {
        let ex = executor(Some(Speculation::default()));
        let tasks: Vec<Task<u32>> = (0..4)
            .map(|i| {
                Arc::new(move |a: &Attempt| {
                    std::thread::sleep(Duration::from_millis(if i == 3 { 400 } else { 5 }));
                    Ok(a.number)
                }) as Task<u32>
            })
            .collect();
        let (seen, observe) = events();
        // The set says its output must not run twice.
        assert_eq!(ex.run(tasks, false, &observe).unwrap(), vec![0, 0, 0, 0]);
        assert!(seen.lock().unwrap().is_empty());
    }
}
