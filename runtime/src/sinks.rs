//! Sinks that output operations write to: `jdbc` into PostgreSQL or an embedded SQLite file.
//!
//! Each partition of each batch is one transaction that also records `(pipeline and sink,
//! batch time, partition)` in `sluice_commits`; a partition already recorded there is skipped, so a
//! batch run again after a failure does not count twice. Rows land by [`WriteMode`]: added
//! to a key's count (the seed's word count), replacing it (state streams), or appended.

use crate::dstream::PartitionSink;
use crate::error::{Error, Result};
use crate::time::BatchTime;
use std::collections::HashMap;
use std::sync::Mutex;

/// `table(key, value)` as written in a sink declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSpec {
    pub table: String,
    pub key: String,
    pub value: String,
}

impl TableSpec {
    /// Parses `name(key_column, value_column)`; names are SQL identifiers.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let bad = || format!("`{spec}` is not of the form `table(key_column, value_column)`");
        let (table, cols) = spec.trim().split_once('(').ok_or_else(bad)?;
        let cols = cols.trim().strip_suffix(')').ok_or_else(bad)?;
        let cols: Vec<&str> = cols.split(',').map(str::trim).collect();
        let [key, value] = cols.as_slice() else {
            return Err(bad());
        };
        let ident = |s: &str| {
            let ok = s
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if ok {
                Ok(s.to_string())
            } else {
                Err(format!(
                    "`{s}` is not a plain SQL name (letters, digits, `_`)"
                ))
            }
        };
        Ok(TableSpec {
            table: ident(table.trim())?,
            key: ident(key)?,
            value: ident(value)?,
        })
    }
}

/// How a sink's rows land in its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// One row per key; a batch's value is added to it (upsert adding).
    Add,
    /// One row per key; a batch's value replaces it (upsert setting): for state streams.
    Replace,
    /// A row per record, never updated.
    Append,
}

impl WriteMode {
    pub const NAMES: &'static [&'static str] = &["add", "replace", "append"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "add" => Some(WriteMode::Add),
            "replace" => Some(WriteMode::Replace),
            "append" => Some(WriteMode::Append),
            _ => None,
        }
    }

    /// The column definitions of a table this mode creates.
    fn columns(self, s: &TableSpec, int: &str) -> String {
        let key = match self {
            WriteMode::Append => "TEXT NOT NULL",
            WriteMode::Add | WriteMode::Replace => "TEXT PRIMARY KEY",
        };
        format!("\"{}\" {key}, \"{}\" {int} NOT NULL", s.key, s.value)
    }

    /// What follows `INSERT …` for a row whose key exists (`excluded` as the dialect
    /// spells it).
    fn on_conflict(self, s: &TableSpec, excluded: &str) -> String {
        let (t, k, v) = (&s.table, &s.key, &s.value);
        match self {
            WriteMode::Add => format!(
                " ON CONFLICT (\"{k}\") DO UPDATE SET \"{v}\" = \"{t}\".\"{v}\" + {excluded}.\"{v}\""
            ),
            WriteMode::Replace => {
                format!(" ON CONFLICT (\"{k}\") DO UPDATE SET \"{v}\" = {excluded}.\"{v}\"")
            }
            WriteMode::Append => String::new(),
        }
    }

    /// A partition's records as rows: per key summed (add), last value per key (replace),
    /// or all of them (append).
    fn rows(self, records: &mut dyn Iterator<Item = (String, i64)>) -> Vec<(String, i64)> {
        match self {
            WriteMode::Append => records.collect(),
            WriteMode::Add => {
                let mut rows: HashMap<String, i64> = HashMap::new();
                for (k, v) in records {
                    let slot = rows.entry(k).or_insert(0);
                    *slot = slot.wrapping_add(v);
                }
                rows.into_iter().collect()
            }
            WriteMode::Replace => records.collect::<HashMap<_, _>>().into_iter().collect(),
        }
    }
}

enum Backend {
    Postgres {
        pool: deadpool_postgres::Pool,
        rt: tokio::runtime::Handle,
    },
    Sqlite(Mutex<rusqlite::Connection>),
}

/// Writes `(key, value)` pairs into a table, by its [`WriteMode`].
pub struct Jdbc {
    /// The pipeline writing, so two pipelines' markers never collide in one database.
    pipeline: String,
    name: String,
    spec: TableSpec,
    mode: WriteMode,
    backend: Backend,
}

const COMMITS_DDL: &str = "CREATE TABLE IF NOT EXISTS sluice_commits (\
    sink TEXT NOT NULL, batch_time BIGINT NOT NULL, part INTEGER NOT NULL, \
    PRIMARY KEY (sink, batch_time, part))";

fn sink_error(name: &str, message: impl std::fmt::Display) -> Error {
    Error::Sink {
        sink: name.to_string(),
        message: message.to_string(),
    }
}

impl Jdbc {
    /// Connects to PostgreSQL at `url` (a libpq URL or key=value string) through a pool of
    /// `pool_size` connections, and creates the table if it does not exist.
    pub fn postgres(
        rt: tokio::runtime::Handle,
        name: &str,
        url: &str,
        table: &str,
        pool_size: usize,
        mode: WriteMode,
    ) -> Result<Self> {
        let spec = TableSpec::parse(table).map_err(|e| sink_error(name, e))?;
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| sink_error(name, format!("bad PostgreSQL URL: {e}")))?;
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(pool_size.max(1))
            .build()
            .map_err(|e| sink_error(name, e))?;
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS \"{}\" ({}); {COMMITS_DDL}",
            spec.table,
            mode.columns(&spec, "BIGINT")
        );
        rt.block_on(async {
            let client = pool.get().await?;
            client.batch_execute(&ddl).await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        })
        .map_err(|e| sink_error(name, format!("cannot prepare PostgreSQL: {e}")))?;
        Ok(Jdbc {
            pipeline: String::new(),
            name: name.to_string(),
            spec,
            mode,
            backend: Backend::Postgres { pool, rt },
        })
    }

    /// Opens (or creates) the SQLite database file at `path` and the table in it.
    pub fn sqlite(name: &str, path: &str, table: &str, mode: WriteMode) -> Result<Self> {
        let spec = TableSpec::parse(table).map_err(|e| sink_error(name, e))?;
        if let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| sink_error(name, format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = rusqlite::Connection::open(path)
            .and_then(|c| {
                c.execute_batch(&format!(
                    "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS \"{}\" ({}); {COMMITS_DDL};",
                    spec.table,
                    mode.columns(&spec, "INTEGER")
                ))?;
                Ok(c)
            })
            .map_err(|e| sink_error(name, format!("cannot open SQLite database {path}: {e}")))?;
        Ok(Jdbc {
            pipeline: String::new(),
            name: name.to_string(),
            spec,
            mode,
            backend: Backend::Sqlite(Mutex::new(conn)),
        })
    }

    /// Names the pipeline that writes through this sink: its commit markers are
    /// `(pipeline:sink:table, batch time, partition)`.
    pub fn for_pipeline(mut self, pipeline: &str) -> Self {
        self.pipeline = pipeline.to_string();
        self
    }

    fn commit_key(&self) -> String {
        format!("{}:{}:{}", self.pipeline, self.name, self.spec.table)
    }

    fn write_postgres(
        &self,
        pool: &deadpool_postgres::Pool,
        rt: &tokio::runtime::Handle,
        time: BatchTime,
        partition: usize,
        rows: Vec<(String, i64)>,
    ) -> Result<(), String> {
        let (keys, values): (Vec<String>, Vec<i64>) = rows.into_iter().unzip();
        let s = &self.spec;
        let upsert = format!(
            "INSERT INTO \"{t}\" (\"{k}\", \"{v}\") SELECT * FROM UNNEST($1::text[], $2::int8[]){}",
            self.mode.on_conflict(s, "EXCLUDED"),
            t = s.table,
            k = s.key,
            v = s.value
        );
        rt.block_on(async {
            let mut client = pool.get().await.map_err(|e| e.to_string())?;
            let tx = client.transaction().await.map_err(|e| e.to_string())?;
            let fresh = tx
                .execute(
                    "INSERT INTO sluice_commits (sink, batch_time, part) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&self.commit_key(), &(time.0 as i64), &(partition as i32)],
                )
                .await
                .map_err(|e| e.to_string())?;
            if fresh == 1 {
                tx.execute(&upsert, &[&keys, &values])
                    .await
                    .map_err(|e| e.to_string())?;
            }
            crate::failpoint::crash_point!("sink_commit.before");
            tx.commit().await.map_err(|e| e.to_string())?;
            crate::failpoint::crash_point!("sink_commit.after");
            Ok(())
        })
    }

    fn write_sqlite(
        &self,
        conn: &Mutex<rusqlite::Connection>,
        time: BatchTime,
        partition: usize,
        rows: Vec<(String, i64)>,
    ) -> Result<(), String> {
        let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
        let s = &self.spec;
        let mut run = || -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            let fresh = tx.execute(
                "INSERT OR IGNORE INTO sluice_commits (sink, batch_time, part) VALUES (?1, ?2, ?3)",
                rusqlite::params![self.commit_key(), time.0 as i64, partition as i64],
            )?;
            if fresh == 1 {
                let mut upsert = tx.prepare(&format!(
                    "INSERT INTO \"{t}\" (\"{k}\", \"{v}\") VALUES (?1, ?2){}",
                    self.mode.on_conflict(s, "excluded"),
                    t = s.table,
                    k = s.key,
                    v = s.value
                ))?;
                for (k, v) in &rows {
                    upsert.execute(rusqlite::params![k, v])?;
                }
            }
            tx.commit()
        };
        run().map_err(|e| e.to_string())
    }
}

impl PartitionSink<(String, i64)> for Jdbc {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn write_partition(
        &self,
        time: BatchTime,
        partition: usize,
        records: &mut dyn Iterator<Item = (String, i64)>,
    ) -> Result<(), String> {
        let rows = self.mode.rows(records);
        if rows.is_empty() {
            return Ok(());
        }
        let result = match &self.backend {
            Backend::Postgres { pool, rt } => self.write_postgres(pool, rt, time, partition, rows),
            Backend::Sqlite(conn) => self.write_sqlite(conn, time, partition, rows),
        };
        result.map_err(|e| format!("sink {}: {e}", self.name))
    }

    /// A partition's rows go in with its commit marker, in one transaction: a second
    /// attempt finds the marker (or waits on the first's uncommitted one) and writes nothing.
    fn idempotent(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_specs_parse_and_reject_injection() {
        let t = TableSpec::parse("streaming_itemcount(item, count)").unwrap();
        assert_eq!(
            (t.table.as_str(), t.key.as_str(), t.value.as_str()),
            ("streaming_itemcount", "item", "count")
        );
        assert!(TableSpec::parse("t(a)").is_err());
        assert!(TableSpec::parse("t(a, b").is_err());
        assert!(TableSpec::parse("t\"; DROP TABLE x; --(a, b)").is_err());
    }

    #[test]
    fn sqlite_partitions_add_up_and_a_replayed_partition_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wc.db");
        let sink = Jdbc::sqlite(
            "jdbc",
            path.to_str().unwrap(),
            "wc(item, count)",
            WriteMode::Add,
        )
        .unwrap();
        let batch = |pairs: &[(&str, i64)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<Vec<_>>()
        };
        sink.write_partition(
            BatchTime(1000),
            0,
            &mut batch(&[("a", 1), ("b", 2), ("a", 3)]).into_iter(),
        )
        .unwrap();
        sink.write_partition(BatchTime(2000), 0, &mut batch(&[("a", 10)]).into_iter())
            .unwrap();
        sink.write_partition(BatchTime(2000), 0, &mut batch(&[("a", 10)]).into_iter())
            .unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut rows: Vec<(String, i64)> = conn
            .prepare("SELECT item, count FROM wc ORDER BY item")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        assert_eq!(rows, [("a".to_string(), 14), ("b".to_string(), 2)]);
    }

    #[test]
    fn replace_keeps_the_last_value_and_append_keeps_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modes.db");
        let path = path.to_str().unwrap();
        let rows = |table: &str| -> Vec<(String, i64)> {
            let conn = rusqlite::Connection::open(path).unwrap();
            let mut v: Vec<(String, i64)> = conn
                .prepare(&format!("SELECT k, v FROM {table}"))
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            v.sort();
            v
        };
        let write = |sink: &Jdbc, t: u64, pairs: &[(&str, i64)]| {
            let mut it = pairs.iter().map(|(k, v)| (k.to_string(), *v));
            sink.write_partition(BatchTime(t), 0, &mut it).unwrap();
        };
        let replace = Jdbc::sqlite("r", path, "state(k, v)", WriteMode::Replace).unwrap();
        write(&replace, 1_000, &[("a", 1), ("b", 5)]);
        write(&replace, 2_000, &[("a", 7)]);
        write(&replace, 2_000, &[("a", 99)]); // a replay of batch 2000: skipped
        assert_eq!(rows("state"), [("a".into(), 7), ("b".into(), 5)]);
        let append = Jdbc::sqlite("a", path, "events(k, v)", WriteMode::Append).unwrap();
        write(&append, 1_000, &[("a", 1), ("a", 1)]);
        write(&append, 2_000, &[("a", 2)]);
        write(&append, 2_000, &[("a", 2)]);
        assert_eq!(
            rows("events"),
            [("a".into(), 1), ("a".into(), 1), ("a".into(), 2)]
        );
    }
}
