//! Episode videos (`ordergrad eval --video`): every evaluated episode as an animated GIF of the
//! env's pictures (`Env::render`), one frame after the reset and one after every step, a red
//! border on the frames of steps where a penalty struck; written to `<run>/videos/` and, for
//! TensorBoard's Images tab (which plays animated GIFs), as image summaries in an event file of
//! that directory.
//!
//! The event file is kept out of the run directory itself: a resumed run deletes the event
//! files there that are younger than its checkpoint (`logging::positions`). TensorBoard pointed
//! at the run (or at `runs/`) finds it as a run of its own, `<run>/videos`.

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use envs::render::{Frame, PALETTE, scenes};
use envs::wrappers::stochastic_penalty::PENALTY_EVENT_KEY;
use envs::{Env, Step};

use crate::logging::{LoggingError, TensorBoardWriter};

/// The subdirectory of a run that videos go to.
pub const VIDEOS_DIR: &str = "videos";
/// Episode i of an evaluation is logged under `{TENSORBOARD_TAG}/episode_{i}`, as
/// tf.compat.v1.summary.image suffixes its tags when it writes several images.
pub const TENSORBOARD_TAG: &str = "videos/eval";

/// The file an evaluation of the checkpoint at `step` writes episode `episode` to.
pub fn file_name(step: u64, episode: usize) -> String {
    format!("eval_step{step}_episode{episode}.gif")
}

/// Refuses an env without a picture, before anything runs: the message names it and says
/// which envs have one.
pub fn check_renderer(env_id: &str) -> Result<(), String> {
    // A MuJoCo id in a build without MuJoCo fails `make`: it has no renderer either.
    let renders = envs::make(env_id).is_ok_and(|mut env| {
        env.reset(Some(0));
        env.render().is_some()
    });
    if renders {
        return Ok(());
    }
    let drawn: Vec<&str> = envs::registered_ids()
        .into_iter()
        .filter(|id| !is_mujoco(id))
        .collect();
    Err(format!(
        "--video: no renderer for {env_id} yet; videos are drawn for {} (the MuJoCo envs \
         need MuJoCo's own renderer through EGL, which is not done)",
        drawn.join(", ")
    ))
}

fn is_mujoco(id: &str) -> bool {
    envs::registry::MUJOCO_IDS.contains(&id) || id == envs::risky::RISKY_HALF_CHEETAH_ID
}

/// Creates `<run_dir>/videos` and checks that a file can be written there, so that a
/// directory that cannot take the videos is refused before any episode runs.
pub fn prepare_dir(run_dir: &Path) -> Result<PathBuf, String> {
    let dir = run_dir.join(VIDEOS_DIR);
    let refuse = |error: std::io::Error| {
        format!("--video: cannot write videos to {}: {error}", dir.display())
    };
    fs::create_dir_all(&dir).map_err(refuse)?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => fs::remove_file(&probe).map_err(refuse)?,
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
        Err(error) => return Err(refuse(error)),
    }
    Ok(dir)
}

/// An animated GIF being encoded in memory, frame by frame, over [`PALETTE`]. After the first,
/// each frame is stored as the rectangle of pixels that changed, drawn over the previous
/// picture: a tenth of the pixels to compress for a swinging pendulum, so encoding, which costs
/// far more than drawing, takes that much less time.
pub struct GifEncoder {
    encoder: gif::Encoder<Vec<u8>>,
    size: (usize, usize),
    /// Hundredths of a second each frame shows for.
    delay: u16,
    frames: usize,
    previous: Vec<u8>,
}

impl GifEncoder {
    /// A looping GIF of `width` x `height` frames shown `fps` a second (as near as GIF's
    /// hundredths of a second allow).
    pub fn new(width: usize, height: usize, fps: u32) -> anyhow::Result<Self> {
        let dimension = |size: usize| {
            u16::try_from(size).map_err(|_| anyhow::anyhow!("a GIF is at most 65535 pixels wide"))
        };
        let palette: Vec<u8> = PALETTE.iter().flatten().copied().collect();
        let mut encoder =
            gif::Encoder::new(Vec::new(), dimension(width)?, dimension(height)?, &palette)?;
        encoder.set_repeat(gif::Repeat::Infinite)?;
        Ok(Self {
            encoder,
            size: (width, height),
            delay: (100 / fps.max(1)).max(1) as u16,
            frames: 0,
            previous: Vec::new(),
        })
    }

    pub fn push(&mut self, frame: &Frame) -> anyhow::Result<()> {
        let size = (frame.width(), frame.height());
        anyhow::ensure!(
            size == self.size,
            "a {}x{} frame in a {}x{} video",
            size.0,
            size.1,
            self.size.0,
            self.size.1
        );
        let pixels = frame.indices();
        let (left, top, width, height) = if self.previous.is_empty() {
            (0, 0, size.0, size.1)
        } else {
            changed_rectangle(&self.previous, pixels, size.0)
        };
        let cropped: Vec<u8> = (top..top + height)
            .flat_map(|row| &pixels[row * size.0 + left..row * size.0 + left + width])
            .copied()
            .collect();
        let mut gif_frame =
            gif::Frame::from_indexed_pixels(width as u16, height as u16, cropped, None);
        (gif_frame.left, gif_frame.top) = (left as u16, top as u16);
        gif_frame.dispose = gif::DisposalMethod::Keep;
        gif_frame.delay = self.delay;
        self.encoder.write_frame(&gif_frame)?;
        self.previous.clear();
        self.previous.extend_from_slice(pixels);
        self.frames += 1;
        Ok(())
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The GIF file's bytes.
    pub fn finish(self) -> anyhow::Result<Vec<u8>> {
        Ok(self.encoder.into_inner()?)
    }
}

/// `(left, top, width, height)` of the smallest rectangle holding every pixel in which two
/// pictures of `width`-pixel rows differ; a single pixel when none does (GIF has no empty frame).
fn changed_rectangle(before: &[u8], after: &[u8], width: usize) -> (usize, usize, usize, usize) {
    let rows = before.chunks_exact(width).zip(after.chunks_exact(width));
    let (mut left, mut right, mut top, mut bottom) = (usize::MAX, 0, usize::MAX, 0);
    for (row, (a, b)) in rows.enumerate() {
        let Some(first) = a.iter().zip(b).position(|(x, y)| x != y) else {
            continue;
        };
        let last = a.iter().zip(b).rposition(|(x, y)| x != y).unwrap_or(first);
        left = left.min(first);
        right = right.max(last);
        top = top.min(row);
        bottom = row;
    }
    if top == usize::MAX {
        (0, 0, 1, 1)
    } else {
        (left, top, right - left + 1, bottom - top + 1)
    }
}

/// One episode's video, written.
#[derive(Debug, Clone)]
pub struct Video {
    pub episode: usize,
    pub path: PathBuf,
    pub frames: usize,
    pub width: usize,
    pub height: usize,
    pub gif: Vec<u8>,
}

/// Turns the resets and steps of an evaluation into one GIF per episode in `dir`.
pub struct EpisodeRecorder {
    dir: PathBuf,
    step: u64,
    fps: u32,
    current: Option<(usize, GifEncoder)>,
    videos: Vec<Video>,
}

impl EpisodeRecorder {
    /// Records into `dir` (see [`prepare_dir`]) the episodes of an evaluation of `env_id` at
    /// checkpoint `step`, which names the files ([`file_name`]).
    pub fn new(dir: PathBuf, env_id: &str, step: u64) -> Self {
        Self {
            dir,
            step,
            fps: scenes::frames_per_second(env_id),
            current: None,
            videos: Vec::new(),
        }
    }

    /// Called after episode `episode`'s reset (`step` None) and after each of its steps: adds
    /// the env's picture, and on the step that ends the episode writes the GIF.
    pub fn observe(
        &mut self,
        env: &dyn Env,
        episode: usize,
        step: Option<&Step>,
    ) -> anyhow::Result<()> {
        let mut frame = env
            .render()
            .ok_or_else(|| anyhow::anyhow!("{} gave no picture to record", env.id()))?;
        if step.is_some_and(penalty_struck) {
            frame.mark_penalty();
        }
        let mut encoder = match (self.current.take(), step) {
            (Some((current, encoder)), Some(_)) if current == episode => encoder,
            _ => GifEncoder::new(frame.width(), frame.height(), self.fps)?,
        };
        encoder.push(&frame)?;
        if step.is_some_and(Step::is_done) {
            self.write(episode, encoder, (frame.width(), frame.height()))?;
        } else {
            self.current = Some((episode, encoder));
        }
        Ok(())
    }

    fn write(
        &mut self,
        episode: usize,
        encoder: GifEncoder,
        (width, height): (usize, usize),
    ) -> anyhow::Result<()> {
        let frames = encoder.frames();
        let gif = encoder.finish()?;
        let path = self.dir.join(file_name(self.step, episode));
        fs::write(&path, &gif)
            .map_err(|error| anyhow::anyhow!("could not write {}: {error}", path.display()))?;
        self.videos.push(Video {
            episode,
            path,
            frames,
            width,
            height,
            gif,
        });
        Ok(())
    }

    /// The videos written so far, in episode order.
    pub fn videos(&self) -> &[Video] {
        &self.videos
    }

    /// Logs every video written as an image summary in a new event file of the videos
    /// directory, at the checkpoint's step; returns the file.
    pub fn write_tensorboard(&self) -> Result<PathBuf, LoggingError> {
        let mut writer = TensorBoardWriter::create(&self.dir)?;
        for video in &self.videos {
            writer.add_image(
                &format!("{TENSORBOARD_TAG}/episode_{}", video.episode),
                (video.width as u32, video.height as u32),
                &video.gif,
                i64::try_from(self.step).unwrap_or(i64::MAX),
            )?;
        }
        let path = writer.path().to_path_buf();
        writer.close()?;
        Ok(path)
    }
}

fn penalty_struck(step: &Step) -> bool {
    step.info
        .values
        .get(PENALTY_EVENT_KEY)
        .is_some_and(|&flag| flag > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changed_rectangle_bounds_every_change() {
        let before = vec![0u8; 6 * 4];
        let mut after = before.clone();
        assert_eq!(changed_rectangle(&before, &after, 6), (0, 0, 1, 1));
        after[6 + 4] = 1; // row 1, column 4
        after[3 * 6 + 2] = 1; // row 3, column 2
        assert_eq!(changed_rectangle(&before, &after, 6), (2, 1, 3, 3));
    }

    #[test]
    fn every_env_but_mujoco_has_a_renderer() {
        for id in envs::registered_ids() {
            assert_eq!(check_renderer(id).is_ok(), !is_mujoco(id), "{id}");
        }
        let message = check_renderer("HalfCheetah-v5").unwrap_err();
        assert!(
            message.contains("no renderer for HalfCheetah-v5 yet") && message.contains("EGL"),
            "{message}"
        );
    }
}
