//! MP4 files of episodes, encoded by an `ffmpeg` on PATH (H.264 through libx264, the format
//! every browser and player opens). No video encoder is compiled into ordergrad: a plain build
//! writes GIFs, and `scripts/setup_ffmpeg.sh` installs Debian's ffmpeg for MP4.
//!
//! Frames are streamed to ffmpeg's stdin as raw RGB while the episode runs, so an episode is
//! never held in memory; ffmpeg writes a `.part` file that becomes the video only once ffmpeg
//! has finished it, so a crash never leaves a truncated file under a video's name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::JoinHandle;

use envs::render::{Frame, PALETTE};

/// The program MP4 needs, looked up on PATH.
pub const FFMPEG: &str = "ffmpeg";

/// Checks that an ffmpeg with libx264 runs here, before anything is recorded; the message says
/// what is missing and how to get it.
pub fn check_ffmpeg() -> Result<(), String> {
    let missing = |what: String| {
        format!(
            "MP4 videos need ffmpeg with libx264 on PATH: {what}. scripts/setup_ffmpeg.sh \
             installs Debian's; GIF (the default format) needs nothing"
        )
    };
    let output = Command::new(FFMPEG)
        .args(["-hide_banner", "-encoders"])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| missing(format!("`{FFMPEG}` could not be run ({error})")))?;
    if !output.status.success() {
        return Err(missing(format!(
            "`{FFMPEG} -encoders` failed ({})",
            output.status
        )));
    }
    let encoders = String::from_utf8_lossy(&output.stdout);
    if !encoders.lines().any(|line| line.contains(" libx264 ")) {
        return Err(missing(format!(
            "the `{FFMPEG}` on PATH has no libx264 encoder"
        )));
    }
    Ok(())
}

/// One episode being encoded by an ffmpeg process into `<path>.part`.
pub struct Mp4Stream {
    child: Child,
    stdin: Option<ChildStdin>,
    /// ffmpeg's error messages, read on a thread of their own so that a chatty ffmpeg can never
    /// block on a full pipe while this side blocks writing frames.
    stderr: Option<JoinHandle<String>>,
    part: PathBuf,
    size: (usize, usize),
    rgb: Vec<u8>,
}

impl Mp4Stream {
    /// Starts ffmpeg for `width` x `height` frames shown `fps` a second, bound for `path`.
    pub fn start(path: &Path, width: usize, height: usize, fps: u32) -> anyhow::Result<Self> {
        let part = part_path(path);
        let mut child = Command::new(FFMPEG)
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24"])
            .args(["-s", &format!("{width}x{height}")])
            // `-r` (not the rawvideo demuxer's `-framerate`, which gave Hopper's 125 as 120).
            .args(["-r", &fps.max(1).to_string()])
            .args(["-i", "pipe:0"])
            // yuv420p, the pixel format players expect, needs even sides.
            .args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
            .args([
                "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast",
            ])
            // One thread: recording runs beside training and must not take its cores.
            .args(["-threads", "1", "-movflags", "+faststart", "-f", "mp4"])
            .arg(&part)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| anyhow::anyhow!("could not start {FFMPEG}: {error}"))?;
        let stdin = child.stdin.take();
        let stderr = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            })
        });
        Ok(Self {
            child,
            stdin,
            stderr,
            part,
            size: (width, height),
            rgb: Vec::with_capacity(width * height * 3),
        })
    }

    pub fn push(&mut self, frame: &Frame) -> anyhow::Result<()> {
        anyhow::ensure!(
            (frame.width(), frame.height()) == self.size,
            "a {}x{} frame in a {}x{} video",
            frame.width(),
            frame.height(),
            self.size.0,
            self.size.1
        );
        self.rgb.clear();
        self.rgb.extend(
            frame
                .indices()
                .iter()
                .flat_map(|&index| PALETTE[usize::from(index)]),
        );
        let written = match &mut self.stdin {
            Some(stdin) => stdin.write_all(&self.rgb),
            None => Ok(()),
        };
        if let Err(error) = written {
            // ffmpeg has gone: its own message says why.
            self.stdin = None;
            let _ = self.child.wait();
            let _ = std::fs::remove_file(&self.part);
            anyhow::bail!(
                "{FFMPEG} stopped taking frames ({error}): {}",
                self.messages()
            );
        }
        Ok(())
    }

    /// Waits for ffmpeg to finish the file, then gives it its name: `path` of [`Self::start`], or
    /// `destination` when given (a training episode is named by the step it ended on).
    pub fn finish(mut self, destination: Option<&Path>) -> anyhow::Result<PathBuf> {
        drop(self.stdin.take());
        let status = self.child.wait()?;
        if !status.success() {
            let _ = std::fs::remove_file(&self.part);
            anyhow::bail!("{FFMPEG} failed ({status}): {}", self.messages());
        }
        let path = destination.map_or_else(|| final_path(&self.part), Path::to_path_buf);
        std::fs::rename(&self.part, &path).map_err(|error| {
            anyhow::anyhow!(
                "could not move {} to {}: {error}",
                self.part.display(),
                path.display()
            )
        })?;
        Ok(path)
    }

    fn messages(&mut self) -> String {
        let text = self
            .stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let text = text.trim();
        if text.is_empty() {
            "no message".into()
        } else {
            text.to_string()
        }
    }
}

impl Drop for Mp4Stream {
    /// An episode cut off unfinished (the end of training) leaves no process and no file.
    fn drop(&mut self) {
        if self.stdin.take().is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

fn final_path(part: &Path) -> PathBuf {
    part.with_extension("")
}
