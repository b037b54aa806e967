//! Episode videos (`ordergrad eval --video`): every evaluated episode as an animated GIF (or an
//! MP4, [`mp4`]) of the env's pictures (`Env::render`), one frame after the reset and one after
//! every step, a red border on the frames of steps where a penalty struck; written to
//! `<run>/videos/` and, for TensorBoard's Images tab (which plays animated GIFs, whatever the
//! files' format), as image summaries in an event file of that directory.
//!
//! The event file is kept out of the run directory itself: a resumed run deletes the event
//! files there that are younger than its checkpoint (`logging::positions`). TensorBoard pointed
//! at the run (or at `runs/`) finds it as a run of its own, `<run>/videos`.
//!
//! Training (`[video]`, `train --video`) records episodes of training env 0 as CleanRL does
//! with Gymnasium's `RecordVideo`: [`RecordVideo`] wraps that env, so it sees the frame of a
//! step that ends an episode before a vector env's autoreset replaces it, and it draws nothing
//! on the episodes its [`EpisodeTrigger`] skips.

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use envs::render::{Frame, PALETTE, scenes};
use envs::wrappers::stochastic_penalty::PENALTY_EVENT_KEY;
use envs::{Env, EnvError, Info, Step};
use serde::{Deserialize, Serialize};

use crate::logging::{LoggingError, TensorBoardWriter};

pub mod mp4;

use mp4::Mp4Stream;

/// The subdirectory of a run that videos go to.
pub const VIDEOS_DIR: &str = "videos";
/// Episode i of an evaluation is logged under `{TENSORBOARD_TAG}/episode_{i}`, as
/// tf.compat.v1.summary.image suffixes its tags when it writes several images.
pub const TENSORBOARD_TAG: &str = "videos/eval";

/// The tag of the episodes recorded during training, at the step each ended on.
pub const TRAINING_TENSORBOARD_TAG: &str = "videos/train";

/// The format of the video files. TensorBoard gets GIFs either way: its Images tab plays
/// nothing else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum VideoFormat {
    /// Animated GIF, encoded in Rust: needs nothing else.
    #[default]
    Gif,
    /// H.264 MP4, encoded by an ffmpeg with libx264 on PATH (`scripts/setup_ffmpeg.sh`).
    Mp4,
}

impl VideoFormat {
    pub fn extension(self) -> &'static str {
        match self {
            VideoFormat::Gif => "gif",
            VideoFormat::Mp4 => "mp4",
        }
    }

    /// Refuses a format that cannot be written here (MP4 without ffmpeg) before anything runs.
    pub fn check(self) -> Result<(), String> {
        match self {
            VideoFormat::Gif => Ok(()),
            VideoFormat::Mp4 => mp4::check_ffmpeg(),
        }
    }
}

/// The file an evaluation of the checkpoint at `step` writes episode `episode` to.
pub fn file_name(step: u64, episode: usize, format: VideoFormat) -> String {
    format!("eval_step{step}_episode{episode}.{}", format.extension())
}

/// Refuses to record `env_id` as `format` files on this machine (no renderer, or MP4 without
/// ffmpeg) before training starts. Checked when a run starts, not when its config is read: a
/// run recorded with videos still evaluates, resumes its config and sweeps elsewhere.
pub fn check_recording(env_id: &str, format: VideoFormat) -> Result<(), String> {
    check_renderer(env_id)?;
    format
        .check()
        .map_err(|message| format!("video.format = \"{}\": {message}", format.extension()))
}

/// Refuses an env without a picture, or whose renderer cannot start (MuJoCo's needs EGL),
/// before anything runs: the message names the env and what to do.
pub fn check_renderer(env_id: &str) -> Result<(), String> {
    // A MuJoCo id in a build without MuJoCo fails `make`: it has no renderer either.
    let renders = envs::make(env_id).is_ok_and(|mut env| {
        env.reset(Some(0));
        env.render().is_some()
    });
    if renders {
        return Ok(());
    }
    if let Some(reason) = envs::render::last_failure() {
        return Err(format!("--video: {reason}"));
    }
    let drawn: Vec<&str> = envs::registered_ids()
        .into_iter()
        .filter(|id| !is_mujoco(id))
        .collect();
    Err(format!(
        "--video: no renderer for {env_id} in this build; videos are drawn for {}, and for the \
         MuJoCo envs in a build with --features agents/mujoco (MuJoCo's own renderer, through \
         EGL)",
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
            // Browsers show a delay under 2 hundredths as 10: faster envs (Hopper's 125 frames
            // a second) play at 50.
            delay: (100 / fps.max(1)).max(2) as u16,
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

/// One episode as it is recorded: always the GIF (TensorBoard's), and the MP4 stream when the
/// files are MP4s.
pub struct EpisodeEncoder {
    gif: GifEncoder,
    mp4: Option<Mp4Stream>,
}

impl EpisodeEncoder {
    /// An episode whose first frame is `first`; with `mp4_path`, also streamed to an MP4 bound
    /// for that file.
    pub fn start(first: &Frame, fps: u32, mp4_path: Option<&Path>) -> anyhow::Result<Self> {
        let (width, height) = (first.width(), first.height());
        let mut encoder = Self {
            gif: GifEncoder::new(width, height, fps)?,
            mp4: mp4_path
                .map(|path| Mp4Stream::start(path, width, height, fps))
                .transpose()?,
        };
        encoder.push(first)?;
        Ok(encoder)
    }

    pub fn push(&mut self, frame: &Frame) -> anyhow::Result<()> {
        self.gif.push(frame)?;
        if let Some(mp4) = &mut self.mp4 {
            mp4.push(frame)?;
        }
        Ok(())
    }

    pub fn frames(&self) -> usize {
        self.gif.frames()
    }
}

/// One episode's video, written.
#[derive(Debug, Clone)]
pub struct Video {
    pub episode: usize,
    /// The file: the GIF, or the MP4 when the files are MP4s.
    pub path: PathBuf,
    pub frames: usize,
    pub width: usize,
    pub height: usize,
    /// The GIF (TensorBoard's), also when the file is an MP4.
    pub gif: Vec<u8>,
}

/// Turns the resets and steps of an evaluation into one video per episode in `dir`.
pub struct EpisodeRecorder {
    dir: PathBuf,
    step: u64,
    fps: u32,
    format: VideoFormat,
    current: Option<(usize, EpisodeEncoder)>,
    videos: Vec<Video>,
}

impl EpisodeRecorder {
    /// Records into `dir` (see [`prepare_dir`]) the episodes of an evaluation of `env_id` at
    /// checkpoint `step`, which names the files ([`file_name`]), as `format` files (checked
    /// with [`VideoFormat::check`]).
    pub fn new(dir: PathBuf, env_id: &str, step: u64, format: VideoFormat) -> Self {
        Self {
            dir,
            step,
            fps: scenes::frames_per_second(env_id),
            format,
            current: None,
            videos: Vec::new(),
        }
    }

    /// Called after episode `episode`'s reset (`step` None) and after each of its steps: adds
    /// the env's picture, and on the step that ends the episode writes the video.
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
        let encoder = match (self.current.take(), step) {
            (Some((current, mut encoder)), Some(_)) if current == episode => {
                encoder.push(&frame)?;
                encoder
            }
            _ => {
                let mp4_path = (self.format == VideoFormat::Mp4).then(|| {
                    self.dir
                        .join(file_name(self.step, episode, VideoFormat::Mp4))
                });
                EpisodeEncoder::start(&frame, self.fps, mp4_path.as_deref())?
            }
        };
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
        encoder: EpisodeEncoder,
        (width, height): (usize, usize),
    ) -> anyhow::Result<()> {
        let frames = encoder.frames();
        let gif = encoder.gif.finish()?;
        let path = match encoder.mp4 {
            Some(mp4) => mp4.finish(None)?,
            None => {
                let path = self
                    .dir
                    .join(file_name(self.step, episode, VideoFormat::Gif));
                write_file(&path, &gif)?;
                path
            }
        };
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

/// Which episodes of training env 0 are recorded, by id (0 for the first episode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeTrigger {
    /// Gymnasium's `capped_cubic_video_schedule`, CleanRL's `--capture_video`: the perfect
    /// cubes below 1000 (0, 1, 8, 27, ..., 729), then every 1000th episode; many videos early,
    /// when the policy changes fastest, few later.
    CappedCubic,
    /// Episodes 0, n, 2n, ...
    Every(u64),
}

impl EpisodeTrigger {
    pub fn records(self, episode: u64) -> bool {
        match self {
            EpisodeTrigger::CappedCubic if episode < 1000 => {
                let root = (episode as f64).cbrt().round() as u64;
                root.pow(3) == episode
            }
            EpisodeTrigger::CappedCubic => episode.is_multiple_of(1000),
            EpisodeTrigger::Every(every) => episode.is_multiple_of(every.max(1)),
        }
    }
}

/// The file a training episode goes to: the step it ended on, then its id.
pub fn training_file_name(step: u64, episode: u64, format: VideoFormat) -> String {
    format!("train_step{step}_episode{episode}.{}", format.extension())
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::write(path, bytes)
        .map_err(|error| anyhow::anyhow!("could not write {}: {error}", path.display()))
}

/// A training episode recorded by [`RecordVideo`], waiting for the training loop to write it.
pub struct RecordedEpisode {
    pub episode: u64,
    pub frames: usize,
    pub width: usize,
    pub height: usize,
    pub gif: Vec<u8>,
    /// The MP4 ffmpeg is finishing, named when the training loop knows the step.
    mp4: Option<Mp4Stream>,
}

/// Where [`RecordVideo`] leaves finished episodes (or the error that stopped one). Shared,
/// because a vector env may step its members on worker threads.
type Finished = Arc<Mutex<Vec<anyhow::Result<RecordedEpisode>>>>;

/// Records the episodes its trigger picks, one frame after the reset and one after every step.
/// Only looks at the env: the observations, rewards and random draws are those of the
/// unwrapped env.
pub struct RecordVideo<E: Env> {
    env: E,
    trigger: EpisodeTrigger,
    fps: u32,
    /// The id the next reset's episode gets.
    next_episode: u64,
    recording: Option<(u64, EpisodeEncoder)>,
    finished: Finished,
    /// Where MP4 streams go until they are named; None for GIF files.
    mp4_dir: Option<PathBuf>,
}

impl<E: Env> RecordVideo<E> {
    /// Wraps `env`, counting episodes from `first_episode` (a resumed run's episodes so far);
    /// the episodes it records are collected by the returned [`TrainingVideos`]'s loop.
    pub fn new(
        env: E,
        trigger: EpisodeTrigger,
        first_episode: u64,
        videos: &TrainingVideos,
    ) -> Self {
        Self {
            fps: scenes::frames_per_second(env.id()),
            env,
            trigger,
            next_episode: first_episode,
            recording: None,
            finished: Arc::clone(&videos.finished),
            mp4_dir: (videos.format == VideoFormat::Mp4).then(|| videos.dir.clone()),
        }
    }

    /// Adds the env's picture to the episode under way, if it is being recorded; an error is
    /// handed to the training loop, and the episode is no longer recorded.
    fn capture(&mut self, penalty: bool, episode_over: bool) {
        let Some((episode, mut encoder)) = self.recording.take() else {
            return;
        };
        let pushed = match self.env.render() {
            Some(mut frame) => {
                if penalty {
                    frame.mark_penalty();
                }
                let size = (frame.width(), frame.height());
                encoder.push(&frame).map(|()| size)
            }
            None => Err(anyhow::anyhow!(
                "{} gave no picture to record",
                self.env.id()
            )),
        };
        let outcome = match pushed {
            Ok(_) if !episode_over => {
                self.recording = Some((episode, encoder));
                return;
            }
            Ok((width, height)) => {
                let frames = encoder.frames();
                encoder.gif.finish().map(|gif| RecordedEpisode {
                    episode,
                    frames,
                    width,
                    height,
                    gif,
                    mp4: encoder.mp4,
                })
            }
            Err(error) => Err(error.context(format!("recording training episode {episode}"))),
        };
        self.finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(outcome);
    }

    fn on_reset(&mut self, _seed: Option<u64>, reset: (Vec<f64>, Info)) -> (Vec<f64>, Info) {
        self.start_episode();
        reset
    }

    /// A new episode: recorded from its first frame if the trigger says so.
    fn start_episode(&mut self) {
        let episode = self.next_episode;
        self.next_episode += 1;
        // An episode cut off by a reset (the end of training) is dropped unfinished.
        self.recording = None;
        if self.trigger.records(episode) {
            let Some(frame) = self.env.render() else {
                self.finished
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Err(anyhow::anyhow!(
                        "{} gave no picture to record",
                        self.env.id()
                    )));
                return;
            };
            let mp4_path = self
                .mp4_dir
                .as_ref()
                .map(|dir| dir.join(format!("train_episode{episode}.mp4")));
            match EpisodeEncoder::start(&frame, self.fps, mp4_path.as_deref()) {
                Ok(encoder) => self.recording = Some((episode, encoder)),
                Err(error) => self
                    .finished
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Err(error)),
            }
        }
    }
}

impl<E: Env> Env for RecordVideo<E> {
    envs::forward_env!(env: id, observation_space, action_space, render, resets);

    fn step(&mut self, action: &[f32]) -> Result<Step, EnvError> {
        let step = self.env.step(action)?;
        // The one check on the hot path: nothing is drawn outside recorded episodes.
        if self.recording.is_some() {
            self.capture(penalty_struck(&step), step.is_done());
        }
        Ok(step)
    }
}

/// The training side of [`RecordVideo`]: writes each recorded episode to
/// `<run>/videos/train_step<step>_episode<id>.gif` (or `.mp4`) and to an event file of that directory
/// (tag `videos/train`, at the step the episode ended on), opened at the first video.
pub struct TrainingVideos {
    dir: PathBuf,
    format: VideoFormat,
    finished: Finished,
    writer: Option<TensorBoardWriter>,
}

impl TrainingVideos {
    /// `format` videos go to `dir`, both checked ([`prepare_dir`], [`VideoFormat::check`])
    /// before training starts.
    pub fn new(dir: PathBuf, format: VideoFormat) -> Self {
        Self {
            dir,
            format,
            finished: Finished::default(),
            writer: None,
        }
    }

    /// Writes the episodes finished since the last call, as ended at training step `step`.
    /// Called where env 0's episode ends, so it costs nothing on the other steps.
    pub fn write_finished(&mut self, step: u64) -> anyhow::Result<()> {
        let finished: Vec<_> =
            std::mem::take(&mut *self.finished.lock().unwrap_or_else(PoisonError::into_inner));
        for episode in finished {
            let episode = episode?;
            let path = self
                .dir
                .join(training_file_name(step, episode.episode, self.format));
            match episode.mp4 {
                Some(mp4) => {
                    mp4.finish(Some(&path))?;
                }
                None => write_file(&path, &episode.gif)?,
            }
            let writer = match &mut self.writer {
                Some(writer) => writer,
                None => self.writer.insert(TensorBoardWriter::create(&self.dir)?),
            };
            writer.add_image(
                TRAINING_TENSORBOARD_TAG,
                (episode.width as u32, episode.height as u32),
                &episode.gif,
                i64::try_from(step).unwrap_or(i64::MAX),
            )?;
            // A video is rare and large: on disk at once, not at the next flush interval.
            writer.flush()?;
        }
        Ok(())
    }

    pub fn close(self) -> anyhow::Result<()> {
        if let Some(writer) = self.writer {
            writer.close()?;
        }
        Ok(())
    }
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
    fn the_capped_cubic_trigger_is_gymnasiums() {
        let recorded: Vec<u64> = (0..3001)
            .filter(|&episode| EpisodeTrigger::CappedCubic.records(episode))
            .collect();
        let mut expected: Vec<u64> = (0..10).map(|root: u64| root.pow(3)).collect();
        expected.extend([1000, 2000, 3000]);
        assert_eq!(recorded, expected);
        let every_five: Vec<u64> = (0..12)
            .filter(|&episode| EpisodeTrigger::Every(5).records(episode))
            .collect();
        assert_eq!(every_five, [0, 5, 10]);
    }

    #[test]
    fn every_drawn_env_has_a_renderer() {
        for id in envs::registered_ids()
            .into_iter()
            .filter(|id| !is_mujoco(id))
        {
            assert!(check_renderer(id).is_ok(), "{id}");
        }
    }

    #[cfg(not(feature = "mujoco"))]
    #[test]
    fn a_mujoco_env_in_a_build_without_mujoco_is_refused_naming_the_feature() {
        let message = check_renderer("HalfCheetah-v5").unwrap_err();
        assert!(
            message.contains("no renderer for HalfCheetah-v5") && message.contains("agents/mujoco"),
            "{message}"
        );
    }
}
