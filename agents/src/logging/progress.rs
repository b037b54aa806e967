//! The progress line on stderr during training: step / total, percentage, SPS, mean recent
//! episodic return, elapsed time and ETA.
//!
//! On a terminal the line is redrawn in place a few times a second. Elsewhere (CI logs, output
//! redirected to a file) carriage returns would pile up into one huge line, so whole lines are
//! printed instead, every few percent or every so many seconds, whichever comes first.

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

/// What the progress display shows and how often.
#[derive(Debug, Clone)]
pub struct ProgressConfig {
    /// The step at which training ends.
    pub total_steps: u64,
    /// The step training starts from: 0, or the checkpoint's step on resume. SPS and ETA count
    /// only steps taken since then.
    pub start_step: u64,
    /// Shortest time between two redraws on a terminal.
    pub redraw_interval: Duration,
    /// Longest time between two printed lines when not on a terminal.
    pub plain_line_interval: Duration,
    /// When not on a terminal, a line is also printed each time progress crosses a multiple of
    /// this many percent.
    pub plain_line_percent: f64,
    /// How many recent episodes the mean return is taken over: few enough that early random
    /// and exploring episodes leave the mean soon (SB3's `ep_rew_mean` takes 100, which on a
    /// 100-episode Pendulum run is every episode).
    pub return_window: usize,
}

impl ProgressConfig {
    pub fn new(total_steps: u64) -> Self {
        Self {
            total_steps,
            start_step: 0,
            redraw_interval: Duration::from_millis(200),
            plain_line_interval: Duration::from_secs(30),
            plain_line_percent: 5.0,
            return_window: 20,
        }
    }
}

/// Redraw one line in place (terminal) or print a line at a time (anything else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    Redraw,
    Lines,
}

/// Everything the line shows, at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressSnapshot {
    pub step: u64,
    pub total_steps: u64,
    pub start_step: u64,
    /// Time since training (re)started at `start_step`.
    pub elapsed: Duration,
    /// Mean return of the last `recent_episodes` episodes; `None` before the first one ends.
    pub mean_recent_return: Option<f64>,
    pub recent_episodes: usize,
}

impl ProgressSnapshot {
    pub fn percent_done(&self) -> f64 {
        if self.total_steps == 0 {
            return 100.0;
        }
        (self.step as f64 / self.total_steps as f64 * 100.0).min(100.0)
    }

    /// Steps per second since `start_step`, as CleanRL's `charts/SPS`.
    pub fn steps_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds <= 0.0 {
            return 0.0;
        }
        self.step.saturating_sub(self.start_step) as f64 / seconds
    }

    /// Time left at the current SPS; `None` until a step has been taken.
    pub fn eta(&self) -> Option<Duration> {
        let steps_per_second = self.steps_per_second();
        if steps_per_second <= 0.0 {
            return None;
        }
        let steps_left = self.total_steps.saturating_sub(self.step) as f64;
        Some(Duration::from_secs_f64(steps_left / steps_per_second))
    }
}

/// The text of the progress line, the same for both styles, e.g.
/// `step 250000/1000000 (25.0%) | 1234 SPS | return 123.45 (mean of the last 20 episodes) | elapsed 0:03:22 | ETA 0:10:07`.
pub fn format_progress_line(snapshot: &ProgressSnapshot) -> String {
    let episodic_return = match snapshot.mean_recent_return {
        Some(mean) => format!(
            "return {mean:.2} (mean of the last {} episodes)",
            snapshot.recent_episodes
        ),
        None => "return - (no episode yet)".to_owned(),
    };
    let eta = snapshot
        .eta()
        .map_or_else(|| "-".to_owned(), format_duration);
    format!(
        "step {}/{} ({:.1}%) | {:.0} SPS | {episodic_return} | elapsed {} | ETA {eta}",
        snapshot.step,
        snapshot.total_steps,
        snapshot.percent_done(),
        snapshot.steps_per_second(),
        format_duration(snapshot.elapsed),
    )
}

/// `h:mm:ss`, hours unbounded (runs of a day or more show e.g. `27:00:00`).
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The live progress display. Write errors are ignored: a closed stderr must not stop training.
pub struct ProgressLine {
    config: ProgressConfig,
    style: ProgressStyle,
    out: Box<dyn Write + Send>,
    started: Instant,
    recent_returns: VecDeque<f64>,
    latest_step: u64,
    last_shown: Option<Shown>,
    /// A redrawn line still waits for its newline.
    line_open: bool,
}

#[derive(Debug, Clone, Copy)]
struct Shown {
    at: Instant,
    step: u64,
}

impl ProgressLine {
    /// Writes to stderr, redrawing in place when stderr is a terminal.
    pub fn to_stderr(config: ProgressConfig) -> Self {
        let style = if io::stderr().is_terminal() {
            ProgressStyle::Redraw
        } else {
            ProgressStyle::Lines
        };
        Self::to_writer(config, style, Box::new(io::stderr()))
    }

    pub fn to_writer(
        config: ProgressConfig,
        style: ProgressStyle,
        out: Box<dyn Write + Send>,
    ) -> Self {
        Self::starting_at(config, style, out, Instant::now())
    }

    fn starting_at(
        config: ProgressConfig,
        style: ProgressStyle,
        out: Box<dyn Write + Send>,
        started: Instant,
    ) -> Self {
        let latest_step = config.start_step;
        Self {
            recent_returns: VecDeque::with_capacity(config.return_window),
            config,
            style,
            out,
            started,
            latest_step,
            last_shown: None,
            line_open: false,
        }
    }

    pub fn record_episode_return(&mut self, episodic_return: f64) {
        if self.config.return_window == 0 {
            return;
        }
        if self.recent_returns.len() == self.config.return_window {
            self.recent_returns.pop_front();
        }
        self.recent_returns.push_back(episodic_return);
    }

    /// Notes that training reached `step`, showing it if the display is due.
    pub fn update(&mut self, step: u64) {
        self.update_at(step, Instant::now());
    }

    /// Shows the latest step one last time and ends the line.
    pub fn finish(&mut self) {
        self.finish_at(Instant::now());
    }

    pub fn snapshot(&self) -> ProgressSnapshot {
        self.snapshot_at(Instant::now())
    }

    fn snapshot_at(&self, now: Instant) -> ProgressSnapshot {
        let recent_episodes = self.recent_returns.len();
        let mean_recent_return = (recent_episodes > 0)
            .then(|| self.recent_returns.iter().sum::<f64>() / recent_episodes as f64);
        ProgressSnapshot {
            step: self.latest_step,
            total_steps: self.config.total_steps,
            start_step: self.config.start_step,
            elapsed: now.saturating_duration_since(self.started),
            mean_recent_return,
            recent_episodes,
        }
    }

    fn update_at(&mut self, step: u64, now: Instant) {
        self.latest_step = step;
        if self.is_due(now) {
            self.show(now);
        }
    }

    fn finish_at(&mut self, now: Instant) {
        let already_shown = self
            .last_shown
            .is_some_and(|shown| shown.step == self.latest_step);
        if !already_shown {
            self.show(now);
        }
        if self.line_open {
            let _ = writeln!(self.out);
            self.line_open = false;
        }
        let _ = self.out.flush();
    }

    fn is_due(&self, now: Instant) -> bool {
        match (self.style, self.last_shown) {
            (ProgressStyle::Redraw, None) => true,
            (ProgressStyle::Redraw, Some(shown)) => {
                now.saturating_duration_since(shown.at) >= self.config.redraw_interval
            }
            (ProgressStyle::Lines, last_shown) => {
                let (since, shown_step) = match last_shown {
                    Some(shown) => (shown.at, shown.step),
                    None => (self.started, self.config.start_step),
                };
                now.saturating_duration_since(since) >= self.config.plain_line_interval
                    || self.percent_bucket(self.latest_step) > self.percent_bucket(shown_step)
            }
        }
    }

    /// Which multiple of `plain_line_percent` a step has passed.
    fn percent_bucket(&self, step: u64) -> u64 {
        if self.config.total_steps == 0 || self.config.plain_line_percent <= 0.0 {
            return 0;
        }
        let percent = step as f64 / self.config.total_steps as f64 * 100.0;
        (percent / self.config.plain_line_percent).floor() as u64
    }

    fn show(&mut self, now: Instant) {
        let line = format_progress_line(&self.snapshot_at(now));
        let _ = match self.style {
            // "\x1b[K" clears what a longer previous line left to the right.
            ProgressStyle::Redraw => write!(self.out, "\r{line}\x1b[K"),
            ProgressStyle::Lines => writeln!(self.out, "{line}"),
        };
        let _ = self.out.flush();
        self.line_open = self.style == ProgressStyle::Redraw;
        self.last_shown = Some(Shown {
            at: now,
            step: self.latest_step,
        });
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        // Leave the cursor on a fresh line so the shell prompt does not overwrite the last redraw.
        if self.line_open {
            let _ = writeln!(self.out);
            let _ = self.out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn snapshot(step: u64, elapsed_secs: u64, mean_recent_return: Option<f64>) -> ProgressSnapshot {
        ProgressSnapshot {
            step,
            total_steps: 1_000_000,
            start_step: 0,
            elapsed: Duration::from_secs(elapsed_secs),
            mean_recent_return,
            recent_episodes: if mean_recent_return.is_some() { 100 } else { 0 },
        }
    }

    #[test]
    fn line_shows_step_percent_sps_return_elapsed_and_eta() {
        let line = format_progress_line(&snapshot(250_000, 200, Some(123.456)));
        assert_eq!(
            line,
            "step 250000/1000000 (25.0%) | 1250 SPS | return 123.46 (mean of the last 100 episodes) \
             | elapsed 0:03:20 | ETA 0:10:00"
        );
    }

    #[test]
    fn line_before_any_episode_or_time_has_no_return_and_no_eta() {
        let line = format_progress_line(&snapshot(0, 0, None));
        assert_eq!(
            line,
            "step 0/1000000 (0.0%) | 0 SPS | return - (no episode yet) | elapsed 0:00:00 | ETA -"
        );
    }

    #[test]
    fn resumed_run_counts_sps_and_eta_from_its_start_step() {
        let resumed = ProgressSnapshot {
            start_step: 500_000,
            ..snapshot(600_000, 100, None)
        };
        assert_eq!(resumed.steps_per_second(), 1000.0);
        assert_eq!(resumed.eta(), Some(Duration::from_secs(400)));
    }

    #[test]
    fn percent_is_capped_at_100_and_zero_total_counts_as_done() {
        assert_eq!(snapshot(2_000_000, 10, None).percent_done(), 100.0);
        let nothing_to_do = ProgressSnapshot {
            total_steps: 0,
            ..snapshot(0, 0, None)
        };
        assert_eq!(nothing_to_do.percent_done(), 100.0);
    }

    #[test]
    fn durations_print_as_hours_minutes_seconds() {
        assert_eq!(format_duration(Duration::from_secs(59)), "0:00:59");
        assert_eq!(format_duration(Duration::from_secs(3_723)), "1:02:03");
        assert_eq!(format_duration(Duration::from_secs(97_200)), "27:00:00");
    }

    #[derive(Clone, Default)]
    struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedBuffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl SharedBuffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn progress_line(style: ProgressStyle, start: Instant) -> (ProgressLine, SharedBuffer) {
        let buffer = SharedBuffer::default();
        let config = ProgressConfig {
            plain_line_interval: Duration::from_secs(30),
            plain_line_percent: 10.0,
            ..ProgressConfig::new(1000)
        };
        let line = ProgressLine::starting_at(config, style, Box::new(buffer.clone()), start);
        (line, buffer)
    }

    #[test]
    fn plain_lines_come_every_few_percent() {
        let start = Instant::now();
        let (mut progress, output) = progress_line(ProgressStyle::Lines, start);
        for step in 1..=250 {
            progress.update_at(step, start + Duration::from_millis(step));
        }
        let text = output.text();
        let steps_shown: Vec<&str> = text.lines().map(|line| &line[..9]).collect();
        assert_eq!(steps_shown, ["step 100/", "step 200/"]);
        assert!(!text.contains('\r'));
    }

    #[test]
    fn plain_lines_also_come_after_the_interval_without_progress() {
        let start = Instant::now();
        let (mut progress, output) = progress_line(ProgressStyle::Lines, start);
        progress.update_at(1, start + Duration::from_secs(29));
        assert_eq!(output.text(), "");
        progress.update_at(2, start + Duration::from_secs(31));
        assert!(output.text().starts_with("step 2/1000 "));
    }

    #[test]
    fn redraws_are_rate_limited_and_finish_ends_the_line() {
        let start = Instant::now();
        let (mut progress, output) = progress_line(ProgressStyle::Redraw, start);
        for millis in 0..1000 {
            progress.update_at(millis, start + Duration::from_millis(millis));
        }
        progress.finish_at(start + Duration::from_millis(1000));
        let text = output.text();
        // Redraws at 0, 200, 400, 600, 800 ms, and the final state on finish.
        assert_eq!(text.matches('\r').count(), 6);
        assert!(text.ends_with("\x1b[K\n"));
        assert!(text.contains("step 999/1000"));
    }

    #[test]
    fn mean_return_is_over_the_last_window_of_episodes() {
        let (mut progress, _) = progress_line(ProgressStyle::Lines, Instant::now());
        for episodic_return in 0..150 {
            progress.record_episode_return(f64::from(episodic_return));
        }
        let snapshot = progress.snapshot();
        // The last 20 of 0..150: 130..=149.
        assert_eq!(snapshot.recent_episodes, 20);
        assert_eq!(snapshot.mean_recent_return, Some(139.5));
    }
}
