//! One writer per run directory. `train` (fresh or resumed) holds an exclusive `flock` on
//! `run_dir/train.lock` from before it writes anything until it exits; a second `train` on the
//! same directory is refused and told the holder's pid, which the holder writes into the file.
//! The OS releases the lock when the holder dies, SIGKILL included, so a stale file never blocks
//! anyone. Readers (`eval`) take no lock: checkpoints count only once complete and verified.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file inside a run directory.
pub const LOCK_FILE: &str = "train.lock";

#[derive(Debug, thiserror::Error)]
pub enum RunLockError {
    #[error(
        "{} is being written by another `ordergrad train` ({}); wait for it to finish or stop it \
         first, or train into another --run-dir",
        run_dir.display(),
        holder.map_or_else(|| "its pid is not in train.lock yet".to_string(), |pid| format!("pid {pid}"))
    )]
    Busy {
        run_dir: PathBuf,
        holder: Option<u32>,
    },
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Held for as long as it lives; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock of `run_dir` (which must exist) without waiting, and writes this
    /// process's pid into the lock file.
    pub fn acquire(run_dir: &Path) -> Result<Self, RunLockError> {
        let path = run_dir.join(LOCK_FILE);
        let io_error = |action| {
            let path = path.clone();
            move |source| RunLockError::Io {
                action,
                path,
                source,
            }
        };
        // Not truncated on open: until the lock is ours, the pid in it is the holder's.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error("open"))?;
        if !try_lock_exclusive(&file).map_err(io_error("lock"))? {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(RunLockError::Busy {
                run_dir: run_dir.to_path_buf(),
                holder: text.trim().parse().ok(),
            });
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(io_error("write"))?;
        Ok(Self { _file: file })
    }
}

/// Ok(false) when another open file description holds the lock.
#[cfg(unix)]
fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
    let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if result == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Elsewhere the directory is not locked (documented in docs/usage.md).
#[cfg(not(unix))]
fn try_lock_exclusive(_file: &File) -> io::Result<bool> {
    Ok(true)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// flock locks belong to open file descriptions, so a second open in the same process
    /// stands in for a second process.
    #[test]
    fn a_second_writer_is_refused_with_the_holders_pid_until_the_first_is_gone() {
        let dir = std::env::temp_dir().join(format!("ordergrad-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let held = RunLock::acquire(&dir).unwrap();
        let error = RunLock::acquire(&dir).unwrap_err();
        let pid = std::process::id();
        assert!(
            matches!(error, RunLockError::Busy { holder: Some(holder), .. } if holder == pid),
            "{error}"
        );
        assert!(error.to_string().contains(&format!("pid {pid}")), "{error}");
        drop(held);
        let _again = RunLock::acquire(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
