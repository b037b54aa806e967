//! `metrics.jsonl`: every logged scalar as one line of JSON, for analysis without TensorBoard.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::flush_timer::{DEFAULT_FLUSH_INTERVAL, FlushTimer};
use super::{LoggingError, unix_time_now};

pub const METRICS_FILE_NAME: &str = "metrics.jsonl";

/// One line of the file. One line per scalar (the "long" layout TensorBoard itself exports) rather
/// than one line per step with a column per tag, because:
/// - every line has the same four keys, so `pd.read_json(path, lines=True)` gives a frame with
///   fixed columns, and `df.pivot_table(index="step", columns="tag", values="value")` gives the
///   wide view when wanted;
/// - several episodes can end at the same step in vectorised envs, which a one-row-per-step
///   layout could not hold without dropping returns;
/// - a line is written the moment a scalar is logged, without waiting to learn which tags a step
///   will have.
///
/// Non-finite values are written as `null` (JSON has no NaN), which pandas reads back as NaN.
#[derive(Serialize)]
struct MetricRecord<'a> {
    step: u64,
    tag: &'a str,
    value: f64,
    /// Seconds since the Unix epoch, as in TensorBoard events.
    wall_time: f64,
}

/// Appends to `metrics.jsonl` in a run directory, buffered and flushed like the event file.
pub struct MetricsFile {
    path: PathBuf,
    file: BufWriter<File>,
    flush_timer: FlushTimer,
}

impl MetricsFile {
    /// Opens `dir/metrics.jsonl` for appending, flushing every [`DEFAULT_FLUSH_INTERVAL`].
    pub fn open(dir: &Path) -> Result<Self, LoggingError> {
        Self::open_with_flush_interval(dir, DEFAULT_FLUSH_INTERVAL)
    }

    /// Appends rather than truncates so that a run resumed from a checkpoint keeps its history. A
    /// half-written last line left by a crash is cut off first, so the file stays valid JSONL.
    pub fn open_with_flush_interval(
        dir: &Path,
        flush_interval: Duration,
    ) -> Result<Self, LoggingError> {
        fs::create_dir_all(dir).map_err(LoggingError::io("create directory", dir))?;
        let path = dir.join(METRICS_FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(LoggingError::io("open", &path))?;
        cut_partial_last_line(&mut file).map_err(LoggingError::io("repair", &path))?;
        Ok(Self {
            path,
            file: BufWriter::new(file),
            flush_timer: FlushTimer::new(flush_interval),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn append(&mut self, tag: &str, value: f64, step: u64) -> Result<(), LoggingError> {
        let record = MetricRecord {
            step,
            tag,
            value,
            wall_time: unix_time_now(),
        };
        // A struct of plain fields cannot fail to serialise; only the write can.
        serde_json::to_writer(&mut self.file, &record)
            .map_err(io::Error::from)
            .and_then(|()| self.file.write_all(b"\n"))
            .map_err(LoggingError::io("write to", &self.path))?;
        if self.flush_timer.is_due() {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), LoggingError> {
        self.file
            .flush()
            .map_err(LoggingError::io("flush", &self.path))?;
        self.flush_timer.restart();
        Ok(())
    }

    /// Flushes and syncs the file to disk, so that it survives a crash of the machine too.
    pub fn sync(&mut self) -> Result<(), LoggingError> {
        self.flush()?;
        self.file
            .get_ref()
            .sync_all()
            .map_err(LoggingError::io("sync", &self.path))
    }

    /// [`Self::sync`], then closes the file.
    pub fn close(mut self) -> Result<(), LoggingError> {
        self.sync()
    }
}

impl Drop for MetricsFile {
    fn drop(&mut self) {
        // Nowhere to report an error from drop; `close` is the way to see one.
        let _ = self.file.flush();
    }
}

/// Truncates the file after its last newline, scanning backwards so a long file is not read whole.
fn cut_partial_last_line(file: &mut File) -> io::Result<()> {
    const CHUNK: u64 = 4096;
    let length = file.metadata()?.len();
    let mut chunk = vec![0u8; CHUNK as usize];
    let mut end = length;
    let keep = loop {
        if end == 0 {
            break 0;
        }
        let start = end.saturating_sub(CHUNK);
        let bytes = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(bytes)?;
        if let Some(newline) = bytes.iter().rposition(|&byte| byte == b'\n') {
            break start + newline as u64 + 1;
        }
        end = start;
    };
    if keep < length {
        file.set_len(keep)?;
    }
    Ok(())
}
