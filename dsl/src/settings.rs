//! The `settings { … }` block: names, value types, and the `Settings` fields they set.

use crate::cx::Cx;
use crate::diagnostic::{did_you_mean, Diagnostic};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use sluice_grammar::ast::{ExprKind, Settings};

#[derive(Clone, Copy)]
enum Kind {
    Duration,
    /// A whole number of things (`usize`).
    Count,
    /// Records per second (`u64`).
    Rate,
    Flag,
    /// A flag turning on a feature with its default tuning (`Option<T>`).
    Switch,
    /// A directory.
    Path,
    /// One of a few words.
    Choice(&'static [(&'static str, &'static str)]),
}

/// `onBatchFailure`'s words and the `BatchFailure` variants they name.
const ON_BATCH_FAILURE: &[(&str, &str)] = &[("skip", "Skip"), ("stop", "Stop")];

/// (flow name, runtime `Settings` field, what it means)
pub const SETTINGS: &[(&str, &str, &str)] = &[
    (
        "batch",
        "batch_interval",
        "the batch interval, e.g. `1s`, `100ms`",
    ),
    (
        "blockInterval",
        "block_interval",
        "how often receivers cut blocks, e.g. `200ms`",
    ),
    (
        "receiverRestartDelay",
        "receiver_restart_delay",
        "how long a receiver waits before reconnecting",
    ),
    (
        "partitions",
        "shuffle_partitions",
        "partitions a shuffle such as `reduceByKey` produces",
    ),
    (
        "workers",
        "worker_threads",
        "worker threads running partitions",
    ),
    (
        "concurrentJobs",
        "concurrent_jobs",
        "how many batches may run at once (Spark's `concurrentJobs`; default 1)",
    ),
    (
        "maxRecordBytes",
        "max_record_bytes",
        "longer records are skipped and counted",
    ),
    (
        "maxRate",
        "receiver_max_rate",
        "at most this many records per second per receiver",
    ),
    (
        "maxRatePerPartition",
        "max_rate_per_partition",
        "at most this many records per second from each partition of a direct source (`kafka`)",
    ),
    (
        "backpressure",
        "backpressure",
        "adapt receivers' rates to what the pipeline processes (`true`/`false`)",
    ),
    (
        "backpressureInitialRate",
        "backpressure_initial_rate",
        "records per second receivers start at under backpressure",
    ),
    (
        "remember",
        "remember",
        "keep each batch's input at least this long (Spark's `remember`)",
    ),
    (
        "taskMaxFailures",
        "task_max_failures",
        "attempts a partition task gets before its batch fails (Spark's `spark.task.maxFailures`; default 4)",
    ),
    (
        "speculation",
        "speculation",
        "run a second copy of a task much slower than its siblings, first result wins (Spark's `spark.speculation`; `true`/`false`)",
    ),
    (
        "onBatchFailure",
        "on_batch_failure",
        "what a batch whose task kept panicking does: `\"skip\"` it (reported; default) or `\"stop\"` the pipeline",
    ),
    (
        "checkpoint",
        "checkpoint_dir",
        "the directory for checkpoints and write-ahead logs",
    ),
    (
        "writeAheadLog",
        "write_ahead_log",
        "log received blocks before they count as received (`true`/`false`)",
    ),
];

fn kind(name: &str) -> Kind {
    match name {
        "batch" | "blockInterval" | "receiverRestartDelay" | "remember" => Kind::Duration,
        "maxRate" | "maxRatePerPartition" | "backpressureInitialRate" => Kind::Rate,
        "backpressure" | "writeAheadLog" => Kind::Flag,
        "speculation" => Kind::Switch,
        "onBatchFailure" => Kind::Choice(ON_BATCH_FAILURE),
        "checkpoint" => Kind::Path,
        _ => Kind::Count,
    }
}

/// Lowers a settings block into `field: value` initialisers.
pub fn lower_settings(cx: &mut Cx, s: &Settings, out: &mut Vec<TokenStream>) {
    let mut seen: Vec<&str> = Vec::new();
    let mut wal_on = None;
    for entry in &s.entries {
        let name = entry.name.name.as_str();
        let Some(&(_, field, meaning)) = SETTINGS.iter().find(|(n, _, _)| *n == name) else {
            let mut d = Diagnostic::error(
                "flow::setting::unknown",
                entry.name.span,
                format!("unknown setting `{name}`"),
            )
            .label("not a setting");
            d = match did_you_mean(name, SETTINGS.iter().map(|s| s.0)) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "settings are: {}",
                    SETTINGS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
                )),
            };
            cx.report(d);
            continue;
        };
        if seen.contains(&name) {
            cx.report(
                Diagnostic::error(
                    "flow::setting::duplicate",
                    entry.name.span,
                    format!("`{name}` is set twice"),
                )
                .label("set again here")
                .help("keep one of the two"),
            );
            continue;
        }
        seen.push(name);
        let field = format_ident!("{}", field);
        let value = match (kind(name), &entry.value.kind) {
            (Kind::Duration, ExprKind::Duration(ms)) if *ms > 0 => {
                if name == "batch" {
                    cx.batch_ms = *ms;
                }
                quote!(::std::time::Duration::from_millis(#ms))
            }
            (Kind::Count, ExprKind::Int(n)) if *n > 0 && *n <= i64::from(u32::MAX) => {
                // Unsuffixed: the field's type (`usize`, `u32`) takes it.
                let n = proc_macro2::Literal::u64_unsuffixed(*n as u64);
                quote!(#n)
            }
            (Kind::Rate, ExprKind::Int(n)) if *n > 0 => {
                let n = *n as u64;
                quote!(#n)
            }
            (Kind::Flag, ExprKind::Bool(b)) => quote!(#b),
            (Kind::Switch, ExprKind::Bool(true)) => {
                quote!(::std::option::Option::Some(
                    ::std::default::Default::default()
                ))
            }
            (Kind::Switch, ExprKind::Bool(false)) => quote!(::std::option::Option::None),
            (Kind::Choice(words), ExprKind::Str(w)) if words.iter().any(|(n, _)| n == w) => {
                let rt = &cx.rt;
                let (_, variant) = words.iter().find(|(n, _)| n == w).expect("checked");
                let variant = format_ident!("{}", variant);
                quote!(#rt::BatchFailure::#variant)
            }
            (Kind::Path, ExprKind::Str(p)) if !p.is_empty() => {
                quote!(::std::option::Option::Some(::std::path::PathBuf::from(#p)))
            }
            (k, _) => {
                let want = match k {
                    Kind::Duration => "a duration greater than zero, such as `500ms` or `2s`",
                    Kind::Count => "a whole number from 1 to 4294967295",
                    Kind::Rate => "a whole number greater than zero",
                    Kind::Flag | Kind::Switch => "`true` or `false`",
                    Kind::Path => "a directory, as a string",
                    Kind::Choice(words) => &format!(
                        "one of {}",
                        words
                            .iter()
                            .map(|(w, _)| format!("`\"{w}\"`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                cx.report(
                    Diagnostic::error(
                        "flow::setting::type",
                        entry.value.span,
                        format!("`{name}` must be {want}"),
                    )
                    .label("not accepted here")
                    .help(format!("`{name}`: {meaning}")),
                );
                continue;
            }
        };
        cx.checkpoint |= name == "checkpoint";
        if name == "writeAheadLog" && matches!(entry.value.kind, ExprKind::Bool(true)) {
            wal_on = Some(entry.span);
        }
        out.push(quote!(#field: #value));
    }
    if let Some(span) = wal_on.filter(|_| !seen.contains(&"checkpoint")) {
        cx.report(
            Diagnostic::error(
                "flow::setting::needs_checkpoint",
                span,
                "the write-ahead log needs a checkpoint directory",
            )
            .label("turned on here")
            .help("add `checkpoint = \"some/dir\"` to the settings"),
        );
    }
}
