//! Episode videos: the recorder over real envs (frame count, size, frames that change, penalty
//! frames), the GIFs read back with the `gif` crate's decoder, and `ordergrad eval --video` as a
//! user runs it (same returns as without, files and TensorBoard events, refusals with exit 2);
//! MP4 files read back by ffprobe where ffmpeg is installed (`scripts/setup_ffmpeg.sh`; CI
//! sets ORDERGRAD_REQUIRE_FFMPEG so that a missing ffmpeg fails there instead of skipping).

mod common;
#[path = "common/tfevents.rs"]
mod tfevents;

use std::path::Path;
use std::process::{Command, Output};

use agents::common::evaluation::evaluate_observed;
use agents::video::{self, EpisodeRecorder, VideoFormat};
use envs::Env;
use envs::wrappers::stochastic_penalty::PENALTY_EVENT_KEY;

/// The pictures a GIF shows, as RGBA buffers (each frame drawn over the last, as its disposal
/// method `Keep` asks), and its width and height.
fn decode(gif: &[u8]) -> (Vec<Vec<u8>>, (usize, usize)) {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(gif).expect("a GIF header");
    let (width, height) = (usize::from(decoder.width()), usize::from(decoder.height()));
    let mut picture = vec![0u8; width * height * 4];
    let mut frames = Vec::new();
    while let Some(frame) = decoder.read_next_frame().expect("a GIF frame") {
        assert_eq!(frame.dispose, gif::DisposalMethod::Keep);
        let (left, top) = (usize::from(frame.left), usize::from(frame.top));
        let frame_width = usize::from(frame.width);
        assert!(left + frame_width <= width && top + usize::from(frame.height) <= height);
        for (row, pixels) in frame.buffer.chunks_exact(frame_width * 4).enumerate() {
            let at = ((top + row) * width + left) * 4;
            picture[at..at + pixels.len()].copy_from_slice(pixels);
        }
        frames.push(picture.clone());
    }
    (frames, (width, height))
}

fn rgb(frame: &[u8], width: usize, (x, row): (usize, usize)) -> [u8; 3] {
    let at = (row * width + x) * 4;
    [frame[at], frame[at + 1], frame[at + 2]]
}

/// Records `episodes` episodes of `env_id` under a constant action; returns the recorder and,
/// per episode, its length and the steps (1-based frame indices) on which a penalty struck.
fn record(
    env_id: &str,
    episodes: usize,
    action: &[f32],
    dir: &Path,
) -> (EpisodeRecorder, Vec<(u64, Vec<usize>)>) {
    let mut env = envs::make(env_id).unwrap();
    let mut recorder = EpisodeRecorder::new(dir.to_path_buf(), env_id, 7, VideoFormat::Gif);
    let mut penalties = vec![Vec::new(); episodes];
    let mut steps = vec![0; episodes];
    let results = evaluate_observed(
        env.as_mut(),
        episodes,
        11,
        None,
        |_, _| action.to_vec(),
        |env: &dyn Env, episode, step| {
            if let Some(step) = step {
                steps[episode] += 1;
                if step.info.values.get(PENALTY_EVENT_KEY) == Some(&1.0) {
                    penalties[episode].push(steps[episode]);
                }
            }
            recorder.observe(env, episode, step)
        },
    )
    .unwrap();
    let lengths: Vec<u64> = results.iter().map(|e| e.length).collect();
    (recorder, lengths.into_iter().zip(penalties).collect())
}

#[test]
fn a_pendulum_episode_is_its_reset_frame_and_one_frame_per_step() {
    let dir = common::scratch_dir("video", "pendulum");
    let (recorder, episodes) = record("Pendulum-v1", 2, &[0.7], &dir);
    assert_eq!(recorder.videos().len(), 2);
    for (video, (length, _)) in recorder.videos().iter().zip(&episodes) {
        assert_eq!(*length, 200);
        assert_eq!(video.frames, 201, "reset frame + one per step");
        assert_eq!(
            video.path,
            dir.join(format!("eval_step7_episode{}.gif", video.episode))
        );
        let (frames, (width, height)) = decode(&std::fs::read(&video.path).unwrap());
        assert_eq!((width, height), (500, 500));
        assert_eq!(frames.len(), 201);
        for frame in &frames {
            let colours: std::collections::BTreeSet<[u8; 3]> =
                frame.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
            assert!(colours.len() >= 3, "a blank frame: {colours:?}");
        }
        let changed = frames.windows(2).filter(|pair| pair[0] != pair[1]).count();
        assert!(
            changed >= 195,
            "only {changed} of 200 steps changed the picture"
        );
    }
    assert_ne!(recorder.videos()[0].gif, recorder.videos()[1].gif);
}

#[test]
fn frames_of_penalised_steps_have_a_red_border_and_no_others_do() {
    let dir = common::scratch_dir("video", "risky-car");
    // Full acceleration: 13 of the 23 steps are over the speed limit, 10 % each to be penalised.
    let (recorder, episodes) = record("RiskyCar-v0", 6, &[1.0], &dir);
    let mut penalised = 0;
    for (video, (length, penalties)) in recorder.videos().iter().zip(&episodes) {
        let (frames, (width, height)) = decode(&video.gif);
        assert_eq!((width, height), (600, 240));
        assert_eq!(frames.len() as u64, length + 1);
        for (index, frame) in frames.iter().enumerate() {
            let corner = rgb(frame, width, (2, 2));
            let red = corner == envs::render::Color::Red.rgb();
            assert_eq!(
                red,
                penalties.contains(&index),
                "frame {index} of episode {}",
                video.episode
            );
        }
        penalised += penalties.len();
    }
    assert!(penalised > 0, "no penalty in 6 episodes: pick other seeds");
}

#[test]
fn every_drawn_env_records_and_a_mujoco_env_is_refused_in_a_build_without_mujoco() {
    let dir = common::scratch_dir("video", "all");
    for (id, action) in [
        ("MountainCarContinuous-v0", vec![1.0]),
        ("RiskyCrossing-v0", vec![0.0, 1.0]),
        ("RiskyPendulum-v1", vec![2.0]),
    ] {
        let (recorder, episodes) = record(id, 1, &action, &dir);
        let (frames, _) = decode(&recorder.videos()[0].gif);
        assert_eq!(frames.len() as u64, episodes[0].0 + 1, "{id}");
    }
    #[cfg(not(feature = "mujoco"))]
    {
        let message = video::check_renderer("HalfCheetah-v5").unwrap_err();
        assert!(
            message.contains("no renderer for HalfCheetah-v5"),
            "{message}"
        );
    }
}

/// MuJoCo's renderer through EGL (scripts/setup_egl.sh): 480 x 480 frames from Gymnasium's
/// camera, one per step and the reset, that show something and move.
#[cfg(feature = "mujoco")]
#[test]
fn mujoco_envs_record_480_by_480_frames_that_move() {
    let dir = common::scratch_dir("video", "mujoco-frames");
    for (id, action) in [
        ("Hopper-v5", vec![0.5, -0.5, 0.5]),
        ("HalfCheetah-v5", vec![1.0, -1.0, 1.0, -1.0, 1.0, -1.0]),
    ] {
        if let Err(message) = video::check_renderer(id) {
            panic!("{message}");
        }
        // 40 steps are enough to see the robot move and keep the test short.
        let mut env = envs::wrappers::TimeLimit::new(envs::make(id).unwrap(), 40).unwrap();
        let mut recorder = EpisodeRecorder::new(dir.clone(), id, 0, VideoFormat::Gif);
        let mut steps = 0u64;
        evaluate_observed(
            &mut env,
            1,
            3,
            None,
            |_, _| action.clone(),
            |env: &dyn Env, episode, step| {
                steps += u64::from(step.is_some());
                recorder.observe(env, episode, step)
            },
        )
        .unwrap();
        let video = &recorder.videos()[0];
        let (frames, size) = decode(&std::fs::read(&video.path).unwrap());
        assert_eq!(size, (480, 480), "{id}");
        assert_eq!(frames.len() as u64, steps + 1, "{id}");
        for frame in &frames {
            let colours: std::collections::BTreeSet<[u8; 3]> =
                frame.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
            assert!(colours.len() >= 8, "{id}: a blank frame: {colours:?}");
        }
        let changed = frames.windows(2).filter(|pair| pair[0] != pair[1]).count();
        assert!(
            changed as u64 >= steps * 3 / 4,
            "{id}: only {changed} of {steps} steps changed the picture"
        );
    }
}

// --- the CLI ---

fn ordergrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordergrad"))
        .args(args)
        .output()
        .expect("the ordergrad binary starts")
}

fn succeed(args: &[&str]) -> Output {
    let output = ordergrad(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {stderr}");
    output
}

fn refused(args: &[&str], needles: &[&str]) -> Output {
    let output = ordergrad(args);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
    for needle in needles {
        assert!(
            message.contains(needle),
            "{args:?} lacks '{needle}': {message}"
        );
    }
    output
}

fn returns(output: &Output) -> Vec<f64> {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    serde_json::from_value(report["returns"].clone()).unwrap()
}

/// (tag, step, encoded image) of every image summary in the event files of `dir`.
fn images(dir: &Path) -> Vec<(String, i64, Vec<u8>)> {
    let mut images = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("events.out.tfevents.") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let mut at = 0;
        // TFRecord: u64 length, u32 length CRC, data, u32 data CRC.
        while at < bytes.len() {
            let length = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            let event = protobuf_fields(&bytes[at + 12..at + 12 + length]);
            at += 16 + length;
            let step = event.iter().find(|f| f.0 == 2).map_or(0, |f| f.1 as i64);
            let Some(summary) = event.iter().find(|f| f.0 == 5) else {
                continue;
            };
            let value = protobuf_fields(&summary.2);
            let value = protobuf_fields(&value[0].2);
            let tag = String::from_utf8(value.iter().find(|f| f.0 == 1).unwrap().2.clone());
            if let Some(image) = value.iter().find(|f| f.0 == 4) {
                let image = protobuf_fields(&image.2);
                let field = |n: u32| image.iter().find(|f| f.0 == n).unwrap();
                assert_eq!((field(1).1, field(2).1, field(3).1), (500, 500, 3));
                images.push((tag.unwrap(), step, field(4).2.clone()));
            }
        }
    }
    images
}

/// (field number, varint value, bytes) of a protobuf message's varint and length-delimited
/// fields (the only wire types an image event holds besides the fixed64 wall time).
fn protobuf_fields(mut bytes: &[u8]) -> Vec<(u32, u64, Vec<u8>)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0;
        for shift in (0..).step_by(7) {
            let byte = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        value
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        let number = (key >> 3) as u32;
        match key & 7 {
            0 => fields.push((number, varint(&mut bytes), Vec::new())),
            1 => bytes = &bytes[8..],
            2 => {
                let length = varint(&mut bytes) as usize;
                fields.push((number, 0, bytes[..length].to_vec()));
                bytes = &bytes[length..];
            }
            5 => bytes = &bytes[4..],
            wire => panic!("wire type {wire}"),
        }
    }
    fields
}

/// A tiny SAC on Pendulum for one 200-step episode, checkpointed at its end, in `dir/sac.toml`.
fn one_episode_sac_config(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("sac.toml");
    std::fs::write(
        &config,
        "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = 200\nseed = 5\n\
         [sac]\nlearning_starts = 100\nbatch_size = 16\nhidden_size = 16\nbuffer_size = 1000\n\
         [checkpoint]\nevery = 200\n[logging]\nprogress = false\n",
    )
    .unwrap();
    config
}

#[test]
fn eval_with_video_gives_the_same_returns_and_writes_gifs_and_tensorboard_images() {
    let dir = common::scratch_dir("video", "cli");
    let config = one_episode_sac_config(&dir);
    let run = dir.join("run");
    let run_arg = run.to_str().unwrap();
    succeed(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--run-dir",
        run_arg,
    ]);

    let eval = ["eval", "--run", run_arg, "--episodes", "2", "--json"];
    let plain = succeed(&eval);
    let with_video = succeed(&[&eval[..], &["--video"]].concat());
    assert_eq!(returns(&plain), returns(&with_video));
    let videos = run.join("videos");
    for episode in 0..2 {
        let gif = std::fs::read(videos.join(format!("eval_step200_episode{episode}.gif")))
            .expect("the episode's GIF");
        let (frames, size) = decode(&gif);
        assert_eq!((frames.len(), size), (201, (500, 500)));
    }
    let mut images = images(&videos);
    images.sort_by(|a, b| a.0.cmp(&b.0));
    let tags: Vec<(&str, i64)> = images.iter().map(|(t, s, _)| (t.as_str(), *s)).collect();
    assert_eq!(
        tags,
        [
            ("videos/eval/episode_0", 200),
            ("videos/eval/episode_1", 200)
        ]
    );
    assert_eq!(
        images[0].2,
        std::fs::read(videos.join("eval_step200_episode0.gif")).unwrap()
    );

    // A videos directory that cannot be made: refused, naming it, before any episode ran.
    std::fs::rename(&videos, dir.join("old-videos")).unwrap();
    std::fs::write(&videos, "not a directory").unwrap();
    let output = refused(
        &[&eval[..], &["--video"]].concat(),
        &["cannot write videos to", videos.to_str().unwrap()],
    );
    assert!(output.stdout.is_empty(), "an episode ran: {output:?}");
    // Without --video the same run still evaluates.
    assert_eq!(returns(&succeed(&eval)), returns(&plain));
}

#[cfg(not(feature = "mujoco"))]
#[test]
fn eval_video_of_an_env_without_a_renderer_is_refused_with_exit_2() {
    let run = common::scratch_dir("video", "mujoco");
    std::fs::write(
        run.join("config.toml"),
        "agent = \"sac\"\nenv = \"HalfCheetah-v5\"\ntotal_steps = 1000\n",
    )
    .unwrap();
    refused(
        &["eval", "--run", run.to_str().unwrap(), "--video"],
        &["no renderer for HalfCheetah-v5", "agents/mujoco"],
    );
    assert!(!run.join("videos").exists());
}

// --- MP4 ---

/// ffprobe's account of a video: codec, width, height, frame rate and the frames it decoded.
fn probe(file: &Path) -> (String, usize, usize, String, usize) {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,avg_frame_rate,nb_read_frames",
        ])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    assert!(output.status.success(), "{}: {output:?}", file.display());
    let text = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<&str> = text.trim().split(',').collect();
    let number = |i: usize| fields[i].parse::<usize>().unwrap();
    (
        fields[0].to_string(),
        number(1),
        number(2),
        fields[3].to_string(),
        number(4),
    )
}

/// Whether MP4 can be tested here; a machine that must test it (CI) fails instead of skipping.
fn ffmpeg_here() -> bool {
    match VideoFormat::Mp4.check() {
        Ok(()) => true,
        Err(reason) if std::env::var_os("ORDERGRAD_REQUIRE_FFMPEG").is_some() => {
            panic!("ORDERGRAD_REQUIRE_FFMPEG is set: {reason}")
        }
        Err(reason) => {
            println!("skipped: {reason}");
            false
        }
    }
}

#[test]
fn mp4_videos_of_training_and_eval_decode_to_every_frame_and_tensorboard_keeps_gifs() {
    if !ffmpeg_here() {
        return;
    }
    let dir = common::scratch_dir("video", "mp4");
    let config = one_episode_sac_config(&dir);
    let run = train(
        &config,
        &dir,
        "run",
        &["--video", "--set", "video.format=\"mp4\""],
    );
    let run_arg = run.to_str().unwrap();
    let eval = ["eval", "--run", run_arg, "--episodes", "2", "--json"];
    let plain = succeed(&eval);
    let with_video = succeed(&[&eval[..], &["--video", "--video-format", "mp4"]].concat());
    assert_eq!(returns(&plain), returns(&with_video));
    // A run that recorded MP4s still evaluates where there is no ffmpeg (without --video).
    let empty_path = dir.join("empty-path");
    std::fs::create_dir_all(&empty_path).unwrap();
    let elsewhere = Command::new(env!("CARGO_BIN_EXE_ordergrad"))
        .args(eval)
        .env("PATH", &empty_path)
        .output()
        .unwrap();
    assert!(elsewhere.status.success(), "{elsewhere:?}");
    assert_eq!(returns(&elsewhere), returns(&plain));

    let videos = run.join("videos");
    let mut files: Vec<String> = std::fs::read_dir(&videos)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("events.out.tfevents"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "eval_step200_episode0.mp4",
            "eval_step200_episode1.mp4",
            "train_step199_episode0.mp4"
        ],
        "MP4s only, no GIF and no .part left"
    );
    for file in &files {
        assert_eq!(
            probe(&videos.join(file)),
            ("h264".to_string(), 500, 500, "30/1".to_string(), 201),
            "{file}"
        );
    }
    // TensorBoard plays GIFs only: it has them for every MP4.
    let mut images = images(&videos);
    images.sort_by(|a, b| a.0.cmp(&b.0));
    let tags: Vec<&str> = images.iter().map(|(tag, _, _)| tag.as_str()).collect();
    assert_eq!(
        tags,
        [
            "videos/eval/episode_0",
            "videos/eval/episode_1",
            "videos/train"
        ]
    );
    for (_, _, gif) in &images {
        assert_eq!(decode(gif).0.len(), 201);
    }
}

#[test]
fn mp4_without_ffmpeg_is_refused_with_exit_2_naming_the_setup_script() {
    let dir = common::scratch_dir("video", "no-ffmpeg");
    let empty_path = dir.join("empty-path");
    std::fs::create_dir_all(&empty_path).unwrap();
    let without_ffmpeg = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_ordergrad"))
            .args(args)
            .env("PATH", &empty_path)
            .output()
            .unwrap();
        let message = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        for needle in ["ffmpeg", "scripts/setup_ffmpeg.sh"] {
            assert!(
                message.contains(needle),
                "{args:?} lacks {needle}: {message}"
            );
        }
        output
    };
    let config = dir.join("sac.toml");
    std::fs::write(
        &config,
        "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = 300\nseed = 1\n[logging]\nprogress = false\n",
    )
    .unwrap();
    let run = dir.join("run");
    without_ffmpeg(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
        "--video",
        "--set",
        "video.format=\"mp4\"",
    ]);
    assert!(!run.exists(), "the run directory was made");

    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(&config, run.join("config.toml")).unwrap();
    let output = without_ffmpeg(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--video",
        "--video-format",
        "mp4",
    ]);
    assert!(output.stdout.is_empty(), "an episode ran: {output:?}");
    assert!(!run.join("videos").exists());
    // A format with no --video to apply to is a usage error, not ignored.
    refused(
        &[
            "eval",
            "--run",
            run.to_str().unwrap(),
            "--video-format",
            "gif",
        ],
        &["--video"],
    );
}

// --- recording during training ---

/// Trains `config` into `dir/<name>` with `extra` arguments; returns the run directory.
fn train(config: &Path, dir: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let run = dir.join(name);
    let args = [
        "train",
        "--config",
        config.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
        "--eval-episodes",
        "0",
    ];
    succeed(&[&args[..], extra].concat());
    run
}

/// The run's logged scalars but its speed (which varies from run to run).
fn logged_values(run: &Path) -> Vec<(String, i64, f32)> {
    let mut values: Vec<_> = tfevents::scalars(run)
        .into_iter()
        .filter(|(tag, _, _)| tag != "charts/SPS")
        .collect();
    values.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    values
}

/// Trains `config` without and with `--video`: the logged values must be the same, and the
/// videos those of `expected` (episode id, step it ended on), 201 frames each (Pendulum's
/// 200 steps and the reset), in files and as `videos/train` images.
fn recording_changes_nothing(config: &Path, dir: &Path, extra: &[&str], expected: &[(u64, i64)]) {
    let plain = train(config, dir, "plain", &[]);
    let recorded = train(config, dir, "recorded", &[&["--video"][..], extra].concat());
    assert!(!plain.join("videos").exists());
    assert_eq!(logged_values(&plain), logged_values(&recorded));

    let videos = recorded.join("videos");
    let mut images = images(&videos);
    images.sort_by_key(|image| image.1);
    let steps: Vec<(&str, i64)> = images.iter().map(|(t, s, _)| (t.as_str(), *s)).collect();
    let expected_images: Vec<(&str, i64)> = expected
        .iter()
        .map(|&(_, step)| ("videos/train", step))
        .collect();
    assert_eq!(steps, expected_images);
    for (&(episode, step), (_, _, image)) in expected.iter().zip(&images) {
        let file = videos.join(video::training_file_name(
            step as u64,
            episode,
            VideoFormat::Gif,
        ));
        let gif = std::fs::read(&file).unwrap_or_else(|_| panic!("{}", file.display()));
        assert_eq!(&gif, image);
        let (frames, size) = decode(&gif);
        assert_eq!(
            (frames.len(), size),
            (201, (500, 500)),
            "{}",
            file.display()
        );
        let changed = frames.windows(2).filter(|pair| pair[0] != pair[1]).count();
        assert!(
            changed >= 150,
            "only {changed} of 200 steps changed the picture"
        );
    }
}

#[test]
fn recording_sac_training_logs_the_same_values_and_records_the_cubic_episodes() {
    let dir = common::scratch_dir("video", "train-sac");
    let config = dir.join("sac.toml");
    std::fs::write(
        &config,
        "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = 2000\nseed = 5\n\
         [sac]\nlearning_starts = 100\nbatch_size = 16\nhidden_size = 16\nbuffer_size = 1000\n\
         [checkpoint]\nevery = 1000\n[logging]\nprogress = false\n",
    )
    .unwrap();
    // Ten episodes of 200 steps: CleanRL's schedule picks 0, 1 and 8.
    recording_changes_nothing(&config, &dir, &[], &[(0, 199), (1, 399), (8, 1799)]);
}

#[test]
fn recording_ppo_training_logs_the_same_values_and_records_env_0_every_n_episodes() {
    let dir = common::scratch_dir("video", "train-ppo");
    let config = dir.join("ppo.toml");
    std::fs::write(
        &config,
        "agent = \"ppo\"\nenv = \"Pendulum-v1\"\ntotal_steps = 1200\nseed = 5\n\
         [ppo]\nnum_envs = 2\nnum_steps = 100\nnum_minibatches = 4\nupdate_epochs = 2\nhidden_size = 16\n\
         [checkpoint]\nevery = 400\n[logging]\nprogress = false\n",
    )
    .unwrap();
    // Env 0's three episodes end at steps 400, 800 and 1200 (two envs step together).
    recording_changes_nothing(
        &config,
        &dir,
        &["--set", "video.every_episodes=2"],
        &[(0, 400), (2, 1200)],
    );
}

#[test]
fn bad_video_settings_are_refused_with_exit_2_before_training() {
    let dir = common::scratch_dir("video", "train-refused");
    let config = dir.join("sac.toml");
    std::fs::write(
        &config,
        "agent = \"sac\"\nenv = \"Pendulum-v1\"\ntotal_steps = 300\nseed = 5\n\
         [sac]\nlearning_starts = 100\nbatch_size = 16\nhidden_size = 16\nbuffer_size = 1000\n\
         [logging]\nprogress = false\n",
    )
    .unwrap();
    let run = dir.join("run");
    let train = [
        "train",
        "--config",
        config.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ];
    for (set, needles) in [
        (
            "video.every_episodes=0",
            &["video.every_episodes", "at least 1"][..],
        ),
        ("video.every_episodes=-3", &["video.every_episodes"][..]),
        ("video.enabled=3", &["video.enabled"][..]),
        (
            "video.format=\"webm\"",
            &["video.format", "webm", "gif", "mp4"][..],
        ),
        ("video.every=3", &["video.every", "every_episodes"][..]),
    ] {
        refused(&[&train[..], &["--set", set]].concat(), needles);
        assert!(!run.exists(), "{set}: the run directory was made");
    }
    // A videos directory that cannot be made: named, and nothing trained.
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("videos"), "not a directory").unwrap();
    refused(
        &[&train[..], &["--video"]].concat(),
        &[
            "cannot write videos to",
            run.join("videos").to_str().unwrap(),
        ],
    );
    let mut entries: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        ["train.lock", "videos"],
        "no config, logs or checkpoint"
    );
}

/// Without a working EGL (here: glvnd pointed at no vendor), `--video` on a MuJoCo run is
/// refused with exit 2 naming the setup script, before any training or episode.
#[cfg(feature = "mujoco")]
#[test]
fn a_mujoco_renderer_that_cannot_start_is_refused_with_exit_2_naming_the_setup_script() {
    let dir = common::scratch_dir("video", "no-egl");
    let run = dir.join("run");
    let without_egl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ordergrad"))
            .args(args)
            .env("__EGL_VENDOR_LIBRARY_FILENAMES", dir.join("no-vendor.json"))
            .output()
            .unwrap()
    };
    let config = dir.join("hopper.toml");
    std::fs::write(
        &config,
        "agent = \"ppo\"\nenv = \"Hopper-v5\"\ntotal_steps = 64\nseed = 1\n\
         [ppo]\nnum_envs = 1\nnum_steps = 32\nnum_minibatches = 1\nupdate_epochs = 1\nhidden_size = 8\n\
         [logging]\nprogress = false\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let run_arg = run.to_str().unwrap();
    let trained = without_egl(&["train", "--config", config, "--run-dir", run_arg, "--video"]);
    let message = String::from_utf8_lossy(&trained.stderr);
    assert_eq!(trained.status.code(), Some(2), "{message}");
    assert!(message.contains("scripts/setup_egl.sh"), "{message}");
    assert!(!run.exists(), "training started: {message}");

    succeed(&[
        "train",
        "--config",
        config,
        "--run-dir",
        run_arg,
        "--eval-episodes",
        "0",
    ]);
    let evaluated = without_egl(&["eval", "--run", run_arg, "--video"]);
    let message = String::from_utf8_lossy(&evaluated.stderr);
    assert_eq!(evaluated.status.code(), Some(2), "{message}");
    assert!(
        message.contains("renderer cannot start") && message.contains("scripts/setup_egl.sh"),
        "{message}"
    );
    assert!(evaluated.stdout.is_empty() && !run.join("videos").exists());
}
