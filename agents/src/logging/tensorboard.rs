//! A TensorBoard event-file writer: TFRecord framing around hand-encoded Event messages, the same
//! bytes torch.utils.tensorboard.SummaryWriter produces for scalars and text.

mod event;
mod record;

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::flush_timer::{DEFAULT_FLUSH_INTERVAL, FlushTimer};
use super::{LoggingError, unix_time_now};

pub use event::FILE_VERSION;

/// Writes one `events.out.tfevents.{unix_secs}.{hostname}` file. Events are buffered and reach the
/// file on `flush`, on `close`, on drop, and whenever an event is added more than the flush
/// interval after the last flush.
pub struct TensorBoardWriter {
    path: PathBuf,
    file: BufWriter<File>,
    flush_timer: FlushTimer,
}

impl TensorBoardWriter {
    /// Creates `dir` if needed and a new event file in it, flushing every
    /// [`DEFAULT_FLUSH_INTERVAL`].
    pub fn create(dir: &Path) -> Result<Self, LoggingError> {
        Self::create_with_flush_interval(dir, DEFAULT_FLUSH_INTERVAL)
    }

    pub fn create_with_flush_interval(
        dir: &Path,
        flush_interval: Duration,
    ) -> Result<Self, LoggingError> {
        fs::create_dir_all(dir).map_err(LoggingError::io("create directory", dir))?;
        let (path, file) = create_event_file(dir)?;
        let mut writer = Self {
            path,
            file: BufWriter::new(file),
            flush_timer: FlushTimer::new(flush_interval),
        };
        writer.write_event(&event::file_version_event(unix_time_now()))?;
        // Flushed at once so that even a run that dies early leaves a file TensorBoard recognises.
        writer.flush()?;
        Ok(writer)
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logs `value` under `tag` at `step`. TensorBoard stores scalars as 32-bit floats, so the
    /// value is rounded to f32 here, as SummaryWriter.add_scalar does.
    pub fn add_scalar(&mut self, tag: &str, value: f64, step: i64) -> Result<(), LoggingError> {
        let scalar = event::scalar_event(unix_time_now(), step, tag, value as f32);
        self.write_event(&scalar)
    }

    /// Logs markdown that TensorBoard's Text tab renders (tables included). The tag is written as
    /// given, like tf.summary.text; torch's add_text would append "/text_summary".
    pub fn add_text(&mut self, tag: &str, markdown: &str, step: i64) -> Result<(), LoggingError> {
        let text = event::text_event(unix_time_now(), step, tag, markdown);
        self.write_event(&text)
    }

    /// Logs an encoded image (PNG or GIF; TensorBoard's Images tab plays an animated GIF) of
    /// `width` x `height` pixels under `tag` at `step`, as tf.compat.v1.summary.image does.
    pub fn add_image(
        &mut self,
        tag: &str,
        (width, height): (u32, u32),
        encoded: &[u8],
        step: i64,
    ) -> Result<(), LoggingError> {
        let image = event::image_event(unix_time_now(), step, tag, height, width, encoded);
        self.write_event(&image)
    }

    /// Pushes buffered events to the OS, where a running TensorBoard can read them.
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

    fn write_event(&mut self, event: &[u8]) -> Result<(), LoggingError> {
        record::write_record(&mut self.file, event)
            .map_err(LoggingError::io("write to", &self.path))?;
        if self.flush_timer.is_due() {
            self.flush()?;
        }
        Ok(())
    }
}

impl Drop for TensorBoardWriter {
    fn drop(&mut self) {
        // Nowhere to report an error from drop; `close` is the way to see one.
        let _ = self.file.flush();
    }
}

/// Opens a file that did not exist before. A second writer in the same directory within the same
/// second (a quick restart, tests) gets a numbered suffix instead of truncating the first file.
fn create_event_file(dir: &Path) -> Result<(PathBuf, File), LoggingError> {
    let base_name = format!(
        "events.out.tfevents.{}.{}",
        unix_time_now() as u64,
        hostname()
    );
    for attempt in 0u32.. {
        let name = match attempt {
            0 => base_name.clone(),
            n => format!("{base_name}.{n}"),
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(LoggingError::io("create", path)(error)),
        }
    }
    unreachable!("u32 suffixes ran out while looking for a free event file name")
}

/// The machine's name for the file name, as TensorFlow puts it there; std has no portable call,
/// so Linux's /proc entry first, then the variables shells and Windows set.
fn hostname() -> String {
    let name = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}
