//! The run logs and checkpoint files, read back the way their consumers read them: event files
//! through an independent TFRecord + protobuf reader, metrics through serde_json line by line,
//! checkpoints through the directory scan a resumed run uses.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use agents::checkpoint::file::{
    COMPLETE_MARKER, CompleteCheckpoint, begin_checkpoint, checkpoint_dir,
    latest_complete_checkpoint, mark_checkpoint_complete, write_atomically, write_json_atomically,
};
use agents::logging::metrics::METRICS_FILE_NAME;
use agents::logging::tensorboard::FILE_VERSION;
use agents::logging::{InterruptFlag, MetricsFile, RunLogger, RunLoggerOptions, TensorBoardWriter};

#[path = "common/tfevents.rs"]
mod tfevents;

use tfevents::{event_files, read_events, scalars_of};

/// A fresh, empty directory for one test under Cargo's scratch space for integration tests.
fn fresh_dir(test_name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("agents-logging-tests")
        .join(test_name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// TensorBoard event files

#[test]
fn scalars_read_back_with_exact_tags_steps_and_values() {
    let dir = fresh_dir("scalars_read_back");
    let mut writer = TensorBoardWriter::create(&dir).unwrap();
    writer
        .add_scalar("charts/episodic_return", -12.5, 1_000)
        .unwrap();
    writer.add_scalar("losses/qf1_loss", 0.125, 1_001).unwrap();
    writer
        .add_scalar("charts/SPS", 3_000.0, 5_000_000_000)
        .unwrap();
    writer.add_scalar("debug/negative_step", 1.0, -3).unwrap();
    let path = writer.path().to_path_buf();
    writer.close().unwrap();

    let events = read_events(&path);
    assert_eq!(
        scalars_of(&events),
        [
            ("charts/episodic_return".to_owned(), 1_000, -12.5),
            ("losses/qf1_loss".to_owned(), 1_001, 0.125),
            ("charts/SPS".to_owned(), 5_000_000_000, 3_000.0),
            ("debug/negative_step".to_owned(), -3, 1.0),
        ]
    );
    assert!(events.iter().all(|event| event.wall_time > 1.6e9));
}

#[test]
fn first_event_is_the_file_version_and_only_the_first() {
    let dir = fresh_dir("file_version_first");
    let mut writer = TensorBoardWriter::create(&dir).unwrap();
    writer.add_scalar("a", 1.0, 0).unwrap();
    let path = writer.path().to_path_buf();
    writer.close().unwrap();

    let events = read_events(&path);
    assert_eq!(events[0].file_version.as_deref(), Some(FILE_VERSION));
    assert_eq!(FILE_VERSION, "brain.Event:2");
    assert!(events[1..].iter().all(|event| event.file_version.is_none()));
}

#[test]
fn text_summary_carries_markdown_for_the_text_plugin() {
    let dir = fresh_dir("text_summary");
    let mut writer = TensorBoardWriter::create(&dir).unwrap();
    let markdown = "|param|value|\n|-|-|\n|seed|1|";
    writer.add_text("hyperparameters", markdown, 0).unwrap();
    let path = writer.path().to_path_buf();
    writer.close().unwrap();

    let events = read_events(&path);
    let text = events.iter().find(|event| event.text.is_some()).unwrap();
    assert_eq!(text.tag.as_deref(), Some("hyperparameters"));
    assert_eq!(text.plugin_name.as_deref(), Some("text"));
    assert_eq!(text.text.as_deref(), Some(markdown));
    assert_eq!(text.simple_value, None);
}

#[test]
fn event_file_is_named_with_unix_time_and_hostname() {
    let dir = fresh_dir("event_file_name");
    let writer = TensorBoardWriter::create(&dir).unwrap();
    let name = writer
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let rest = name.strip_prefix("events.out.tfevents.").unwrap();
    let (seconds, hostname) = rest.split_once('.').unwrap();
    assert!(seconds.parse::<u64>().unwrap() > 1_600_000_000, "{name}");
    assert!(!hostname.is_empty(), "{name}");
}

#[test]
fn two_writers_in_one_directory_get_separate_files() {
    let dir = fresh_dir("two_writers");
    let mut first = TensorBoardWriter::create(&dir).unwrap();
    let mut second = TensorBoardWriter::create(&dir).unwrap();
    assert_ne!(first.path(), second.path());
    first.add_scalar("first", 1.0, 1).unwrap();
    second.add_scalar("second", 2.0, 2).unwrap();
    let (first_path, second_path) = (first.path().to_path_buf(), second.path().to_path_buf());
    drop((first, second));
    assert_eq!(
        scalars_of(&read_events(&first_path)),
        [("first".to_owned(), 1, 1.0)]
    );
    assert_eq!(
        scalars_of(&read_events(&second_path)),
        [("second".to_owned(), 2, 2.0)]
    );
}

#[test]
fn events_reach_the_file_without_explicit_flush_once_the_interval_passed() {
    let dir = fresh_dir("flush_on_timer");
    let mut writer =
        TensorBoardWriter::create_with_flush_interval(&dir, Duration::from_millis(20)).unwrap();
    writer.add_scalar("a", 1.0, 1).unwrap();
    thread::sleep(Duration::from_millis(40));
    writer.add_scalar("b", 2.0, 2).unwrap();
    // The writer is still open: the file holds what the timer flushed.
    let events = read_events(writer.path());
    assert_eq!(
        scalars_of(&events),
        [("a".to_owned(), 1, 1.0), ("b".to_owned(), 2, 2.0)]
    );
}

#[test]
fn events_wait_in_the_buffer_before_the_interval_passed() {
    let dir = fresh_dir("buffered_before_interval");
    let mut writer =
        TensorBoardWriter::create_with_flush_interval(&dir, Duration::from_secs(3600)).unwrap();
    writer.add_scalar("a", 1.0, 1).unwrap();
    assert_eq!(scalars_of(&read_events(writer.path())), []);
    writer.flush().unwrap();
    assert_eq!(
        scalars_of(&read_events(writer.path())),
        [("a".to_owned(), 1, 1.0)]
    );
}

#[test]
fn dropping_the_writer_flushes_buffered_events() {
    let dir = fresh_dir("drop_flushes");
    let mut writer =
        TensorBoardWriter::create_with_flush_interval(&dir, Duration::from_secs(3600)).unwrap();
    writer.add_scalar("a", 1.0, 1).unwrap();
    writer.add_text("t", "hello", 1).unwrap();
    let path = writer.path().to_path_buf();
    drop(writer);
    let events = read_events(&path);
    assert_eq!(scalars_of(&events), [("a".to_owned(), 1, 1.0)]);
    assert_eq!(events.last().unwrap().text.as_deref(), Some("hello"));
}

#[test]
fn creating_a_writer_under_a_file_reports_the_path() {
    let dir = fresh_dir("writer_error");
    let not_a_dir = dir.join("plain_file");
    fs::write(&not_a_dir, b"").unwrap();
    let error = TensorBoardWriter::create(&not_a_dir.join("run"))
        .err()
        .unwrap();
    assert!(error.to_string().contains("plain_file"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// metrics.jsonl

fn read_metric_lines(path: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn metrics_file_has_one_json_object_per_scalar() {
    let dir = fresh_dir("metrics_lines");
    let mut metrics = MetricsFile::open(&dir).unwrap();
    metrics.append("charts/episodic_return", 10.5, 100).unwrap();
    metrics.append("losses/qf1_loss", 0.25, 200).unwrap();
    metrics.append("losses/nan_loss", f64::NAN, 300).unwrap();
    metrics.close().unwrap();

    let lines = read_metric_lines(&dir.join(METRICS_FILE_NAME));
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["step"], 100);
    assert_eq!(lines[0]["tag"], "charts/episodic_return");
    assert_eq!(lines[0]["value"], 10.5);
    assert!(lines[0]["wall_time"].as_f64().unwrap() > 1.6e9);
    assert_eq!(lines[1]["tag"], "losses/qf1_loss");
    assert_eq!(
        lines[2]["value"],
        serde_json::Value::Null,
        "NaN is written as null"
    );
    let keys: Vec<&String> = lines[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["step", "tag", "value", "wall_time"]);
}

#[test]
fn metrics_reach_the_file_on_the_timer_and_on_drop() {
    let dir = fresh_dir("metrics_flush");
    let path = dir.join(METRICS_FILE_NAME);
    let mut metrics =
        MetricsFile::open_with_flush_interval(&dir, Duration::from_millis(20)).unwrap();
    metrics.append("a", 1.0, 1).unwrap();
    thread::sleep(Duration::from_millis(40));
    metrics.append("b", 2.0, 2).unwrap();
    assert_eq!(read_metric_lines(&path).len(), 2);
    drop(metrics);

    let mut metrics =
        MetricsFile::open_with_flush_interval(&dir, Duration::from_secs(3600)).unwrap();
    metrics.append("c", 3.0, 3).unwrap();
    assert_eq!(read_metric_lines(&path).len(), 2);
    drop(metrics);
    assert_eq!(read_metric_lines(&path).len(), 3);
}

#[test]
fn reopened_metrics_file_appends_and_drops_a_half_written_last_line() {
    let dir = fresh_dir("metrics_resume");
    let path = dir.join(METRICS_FILE_NAME);
    let mut metrics = MetricsFile::open(&dir).unwrap();
    metrics.append("a", 1.0, 1).unwrap();
    metrics.close().unwrap();
    // What a crash in the middle of a write leaves behind.
    let mut content = fs::read(&path).unwrap();
    content.extend_from_slice(br#"{"step":2,"tag":"a","va"#);
    fs::write(&path, content).unwrap();

    let mut metrics = MetricsFile::open(&dir).unwrap();
    metrics.append("a", 3.0, 3).unwrap();
    metrics.close().unwrap();
    let steps: Vec<u64> = read_metric_lines(&path)
        .iter()
        .map(|line| line["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [1, 3]);
}

// ---------------------------------------------------------------------------------------------
// RunLogger

#[derive(serde::Serialize)]
struct SacSettings {
    env_id: &'static str,
    learning_rate: f64,
    total_timesteps: u64,
}

const SAC_SETTINGS: SacSettings = SacSettings {
    env_id: "Hopper-v4",
    learning_rate: 3e-4,
    total_timesteps: 1_000,
};

#[test]
fn run_logger_writes_hyperparameters_then_scalars_to_both_files() {
    let run_dir = fresh_dir("run_logger").join("sac_hopper_1");
    let options = RunLoggerOptions::new(1_000).without_progress();
    let mut logger = RunLogger::create(&run_dir, &SAC_SETTINGS, options).unwrap();
    logger.scalar("losses/qf1_loss", 0.5, 10).unwrap();
    logger.episode(20, 123.0, 20).unwrap();
    logger.progress(30);
    logger.close().unwrap();

    let event_file = &event_files(&run_dir)[0];
    let events = read_events(event_file);
    let table = events[1].text.as_deref().unwrap();
    assert_eq!(events[1].tag.as_deref(), Some("hyperparameters"));
    assert_eq!(
        table,
        "|param|value|\n|-|-|\n|env_id|Hopper-v4|\n|learning_rate|0.0003|\n|total_timesteps|1000|"
    );
    let logged = [
        ("losses/qf1_loss".to_owned(), 10, 0.5),
        ("charts/episodic_return".to_owned(), 20, 123.0),
        ("charts/episodic_length".to_owned(), 20, 20.0),
    ];
    assert_eq!(scalars_of(&events), logged);

    let metric_lines = read_metric_lines(&run_dir.join(METRICS_FILE_NAME));
    let from_metrics: Vec<(String, i64, f32)> = metric_lines
        .iter()
        .map(|line| {
            let tag = line["tag"].as_str().unwrap().to_owned();
            (
                tag,
                line["step"].as_i64().unwrap(),
                line["value"].as_f64().unwrap() as f32,
            )
        })
        .collect();
    assert_eq!(from_metrics, logged);
}

#[test]
fn dropping_the_run_logger_flushes_both_files() {
    let run_dir = fresh_dir("run_logger_drop");
    let options = RunLoggerOptions::new(100)
        .without_progress()
        .with_flush_interval(Duration::from_secs(3600));
    let mut logger = RunLogger::create(&run_dir, &SAC_SETTINGS, options).unwrap();
    logger.scalar("charts/SPS", 99.0, 50).unwrap();
    drop(logger);

    let events = read_events(&event_files(&run_dir)[0]);
    assert_eq!(scalars_of(&events), [("charts/SPS".to_owned(), 50, 99.0)]);
    assert_eq!(read_metric_lines(&run_dir.join(METRICS_FILE_NAME)).len(), 1);
}

/// Writes a small run for `scripts/check_tensorboard.py` to load with the real TensorBoard:
/// `ORDERGRAD_TENSORBOARD_SAMPLE_DIR=/tmp/tb-sample cargo test --release -p agents --test logging
/// -- --ignored write_sample_run_for_real_tensorboard`
#[test]
#[ignore = "writes outside the target directory; run by hand for the TensorBoard check"]
fn write_sample_run_for_real_tensorboard() {
    let run_dir = PathBuf::from(
        std::env::var("ORDERGRAD_TENSORBOARD_SAMPLE_DIR")
            .expect("set ORDERGRAD_TENSORBOARD_SAMPLE_DIR to the directory to write"),
    );
    let mut logger =
        RunLogger::create(&run_dir, &SAC_SETTINGS, RunLoggerOptions::new(1_000)).unwrap();
    for step in (0..1_000u64).step_by(100) {
        logger
            .scalar("losses/qf1_loss", 1.0 / (step as f64 + 1.0), step)
            .unwrap();
        logger
            .scalar("charts/SPS", 1000.0 + step as f64, step)
            .unwrap();
        logger.episode(step + 50, step as f64 * 0.5, 50).unwrap();
        logger.progress(step + 99);
    }
    logger.close().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C

/// The only test that touches the process-wide Ctrl-C flag, because a second SIGINT would end
/// the test process.
#[cfg(unix)]
#[test]
fn ctrl_c_sets_every_installed_flag_and_installing_twice_is_fine() {
    let first = InterruptFlag::install().unwrap();
    let second = InterruptFlag::install().unwrap();
    assert!(!first.is_set());
    let status = std::process::Command::new("kill")
        .args(["-INT", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for _ in 0..200 {
        if first.is_set() {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert!(first.is_set());
    assert!(second.is_set());
    assert!(InterruptFlag::install().unwrap().is_set());
}

// ---------------------------------------------------------------------------------------------
// Checkpoint files

#[test]
fn write_atomically_replaces_the_content_and_leaves_no_temp_file() {
    let dir = fresh_dir("atomic_replace");
    let target = dir.join("agent.json");
    write_atomically(&target, b"old").unwrap();
    write_atomically(&target, b"new content").unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new content");
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["agent.json"]);
}

#[test]
fn readers_see_either_the_old_or_the_new_content_never_a_mix() {
    let dir = fresh_dir("atomic_readers");
    let target = dir.join("state.bin");
    let old = vec![b'o'; 256 * 1024];
    let new = vec![b'n'; 256 * 1024];
    write_atomically(&target, &old).unwrap();

    let reader_target = target.clone();
    let (reader_old, reader_new) = (old.clone(), new.clone());
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let still_writing = writing.clone();
    let reader = thread::spawn(move || {
        let mut reads = 0;
        while still_writing.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
            let content = fs::read(&reader_target).unwrap();
            assert!(content == reader_old || content == reader_new, "torn read");
            reads += 1;
        }
        reads
    });
    for round in 0..40 {
        write_atomically(&target, if round % 2 == 0 { &new } else { &old }).unwrap();
    }
    writing.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
}

#[test]
fn write_json_atomically_writes_json_serde_reads_back() {
    let dir = fresh_dir("atomic_json");
    let target = dir.join("meta.json");
    write_json_atomically(&target, &serde_json::json!({"step": 42, "seed": 1})).unwrap();
    let read: serde_json::Value = serde_json::from_slice(&fs::read(&target).unwrap()).unwrap();
    assert_eq!(read, serde_json::json!({"step": 42, "seed": 1}));
}

#[test]
fn write_atomically_into_a_missing_directory_reports_the_path() {
    let dir = fresh_dir("atomic_missing_dir");
    let error = write_atomically(&dir.join("missing").join("file"), b"x").unwrap_err();
    assert!(error.to_string().contains("missing"), "{error}");
}

#[test]
fn latest_complete_checkpoint_is_none_before_any_checkpoint() {
    let run_dir = fresh_dir("no_checkpoints");
    assert_eq!(latest_complete_checkpoint(&run_dir).unwrap(), None);
}

#[test]
fn latest_complete_checkpoint_skips_incomplete_dirs_and_temp_files() {
    let run_dir = fresh_dir("latest_checkpoint");
    for step in [1_000, 2_000] {
        let dir = begin_checkpoint(&run_dir, step).unwrap();
        write_atomically(&dir.join("model.bin"), b"weights").unwrap();
        mark_checkpoint_complete(&dir, b"").unwrap();
    }
    // A crash in the middle of the checkpoint at 3000: files, but no marker.
    let crashed = begin_checkpoint(&run_dir, 3_000).unwrap();
    fs::write(crashed.join("model.bin"), b"half").unwrap();
    // A crash in the middle of writing the marker itself leaves only its temp file.
    let crashed_marking = begin_checkpoint(&run_dir, 4_000).unwrap();
    fs::write(
        crashed_marking.join(format!(".{COMPLETE_MARKER}.tmp-1-0")),
        b"",
    )
    .unwrap();
    // Stray names in checkpoints/ that are not step directories.
    let checkpoints = run_dir.join("checkpoints");
    fs::write(checkpoints.join(".step_000000009000.tmp-1-0"), b"").unwrap();
    fs::create_dir_all(checkpoints.join("step_latest")).unwrap();
    fs::write(checkpoints.join("step_latest").join(COMPLETE_MARKER), b"").unwrap();

    assert_eq!(
        latest_complete_checkpoint(&run_dir).unwrap(),
        Some(CompleteCheckpoint {
            step: 2_000,
            dir: checkpoint_dir(&run_dir, 2_000),
        })
    );
}

#[test]
fn beginning_a_checkpoint_again_clears_the_leftover_of_a_crashed_attempt() {
    let run_dir = fresh_dir("checkpoint_retry");
    let crashed = begin_checkpoint(&run_dir, 500).unwrap();
    fs::write(crashed.join("stale.bin"), b"from the crashed attempt").unwrap();

    let retried = begin_checkpoint(&run_dir, 500).unwrap();
    assert_eq!(retried, crashed);
    assert!(!retried.join("stale.bin").exists());
    write_atomically(&retried.join("model.bin"), b"weights").unwrap();
    mark_checkpoint_complete(&retried, b"").unwrap();
    assert_eq!(
        latest_complete_checkpoint(&run_dir).unwrap().unwrap().step,
        500
    );
}
