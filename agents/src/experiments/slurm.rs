//! The Slurm executor: one job array with a task per run (task i runs `manifest.runs[i]` through
//! the hidden `ordergrad sweep-task` command), written to `DIR/sweep.sbatch` and handed to
//! `sbatch`. Slurm schedules; this module only writes the script and submits it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::SweepError;
use super::layout::{MANIFEST_FILE, SLURM_LOG_DIR};

/// Resources of each array task (`#SBATCH` lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmResources {
    pub job_name: String,
    /// `--partition`; `None` leaves the cluster's default.
    pub partition: Option<String>,
    /// `--time`, a Slurm time limit such as `01:00:00` or `2-00:00:00`.
    pub time: String,
    pub cpus_per_task: u32,
    /// `--mem`, e.g. `4G`.
    pub mem: String,
    /// At most this many tasks at once (`--array=...%N`).
    pub max_concurrent: Option<u32>,
    /// Further `#SBATCH` options, verbatim (`--account=rl`, `--qos=low`).
    pub extra: Vec<String>,
}

impl SlurmResources {
    /// Each setting becomes one `#SBATCH` line: no whitespace inside, nothing empty.
    pub fn check(&self) -> Result<(), SweepError> {
        let mut settings: Vec<(&'static str, &str)> = vec![
            ("job-name", &self.job_name),
            ("time", &self.time),
            ("mem", &self.mem),
        ];
        if let Some(partition) = &self.partition {
            settings.push(("partition", partition));
        }
        for extra in &self.extra {
            settings.push(("sbatch-arg", extra));
        }
        for (flag, value) in settings {
            if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(SweepError::SlurmSetting {
                    flag,
                    value: value.to_string(),
                    reason: "must be one word, without spaces".into(),
                });
            }
        }
        for extra in &self.extra {
            if !extra.starts_with('-') {
                return Err(SweepError::SlurmSetting {
                    flag: "sbatch-arg",
                    value: extra.clone(),
                    reason: "must be an sbatch option such as --account=rl".into(),
                });
            }
        }
        if self.cpus_per_task == 0 {
            return Err(SweepError::SlurmSetting {
                flag: "cpus-per-task",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// `0-3,5,7-9`: Slurm's array index list for sorted, distinct indices.
pub fn array_spec(indices: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = indices.iter().copied().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while iter.peek() == Some(&(last + 1)) {
            last = iter.next().unwrap_or(last);
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
    }
    parts.join(",")
}

/// The job-array script for the runs at `indices` of the manifest in `sweep_dir` (an absolute
/// path: the script runs elsewhere). Task logs go to `sweep_dir/slurm/<job>_<task>.{out,err}`.
pub fn sbatch_script(
    resources: &SlurmResources,
    binary: &Path,
    sweep_dir: &Path,
    indices: &[usize],
) -> Result<String, SweepError> {
    resources.check()?;
    let dir_text = sweep_dir.to_str().ok_or_else(|| SweepError::Request {
        reason: format!("{} is not valid UTF-8", sweep_dir.display()),
    })?;
    if dir_text.chars().any(|c| c.is_whitespace() || c == '%') {
        // #SBATCH lines cannot quote, and % starts Slurm's file name patterns.
        return Err(SweepError::Request {
            reason: format!(
                "--out {dir_text}: Slurm's #SBATCH --output cannot hold spaces or '%'; \
                 choose a sweep directory without them"
            ),
        });
    }
    let logs = sweep_dir.join(SLURM_LOG_DIR);
    let mut array = array_spec(indices);
    if let Some(limit) = resources.max_concurrent {
        array.push_str(&format!("%{limit}"));
    }
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!("#SBATCH --job-name={}", resources.job_name),
        format!("#SBATCH --array={array}"),
    ];
    if let Some(partition) = &resources.partition {
        lines.push(format!("#SBATCH --partition={partition}"));
    }
    lines.extend([
        format!("#SBATCH --time={}", resources.time),
        "#SBATCH --ntasks=1".to_string(),
        format!("#SBATCH --cpus-per-task={}", resources.cpus_per_task),
        format!("#SBATCH --mem={}", resources.mem),
        format!("#SBATCH --output={}/%A_%a.out", logs.display()),
        format!("#SBATCH --error={}/%A_%a.err", logs.display()),
    ]);
    lines.extend(
        resources
            .extra
            .iter()
            .map(|option| format!("#SBATCH {option}")),
    );
    lines.extend([
        String::new(),
        "# Written by `ordergrad sweep --executor slurm`: array task i trains and evaluates".into(),
        format!(
            "# run i of {}/{MANIFEST_FILE}; a task whose run is done already exits at once.",
            sweep_dir.display()
        ),
        "set -euo pipefail".into(),
        "export RAYON_NUM_THREADS=\"${RAYON_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}\"".into(),
        format!(
            "exec {} sweep-task --manifest {} --index \"$SLURM_ARRAY_TASK_ID\"",
            shell_quote(&binary.to_string_lossy()),
            shell_quote(&sweep_dir.join(MANIFEST_FILE).to_string_lossy())
        ),
    ]);
    Ok(lines.join("\n") + "\n")
}

/// `text` as one POSIX shell word.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The first executable `program` on a `PATH`-style list of directories.
pub fn find_on_path(program: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// `sbatch` on this machine's PATH, or the error that says what to do without it.
pub fn find_sbatch() -> Result<PathBuf, SweepError> {
    find_on_path("sbatch", std::env::var_os("PATH").as_deref()).ok_or(SweepError::NoSbatch)
}

/// Submits `script` and returns the job id `sbatch --parsable` printed.
pub fn submit(sbatch: &Path, script: &Path) -> Result<String, SweepError> {
    let output = Command::new(sbatch)
        .arg("--parsable")
        .arg(script)
        .output()
        .map_err(SweepError::io("run", sbatch))?;
    if !output.status.success() {
        return Err(SweepError::Sbatch {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    // --parsable prints `jobid` or `jobid;cluster`.
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources() -> SlurmResources {
        SlurmResources {
            job_name: "ordergrad-sweep".into(),
            partition: Some("gpu".into()),
            time: "02:00:00".into(),
            cpus_per_task: 4,
            mem: "8G".into(),
            max_concurrent: Some(2),
            extra: vec!["--account=rl".into()],
        }
    }

    #[test]
    fn array_specs_compress_runs_of_indices() {
        assert_eq!(array_spec(&[0, 1, 2, 3]), "0-3");
        assert_eq!(array_spec(&[0, 2, 3, 4, 7]), "0,2-4,7");
        assert_eq!(array_spec(&[5]), "5");
    }

    #[test]
    fn the_script_asks_for_the_resources_and_runs_one_manifest_entry_per_task() {
        let script = sbatch_script(
            &resources(),
            Path::new("/opt/ordergrad bin/ordergrad"),
            Path::new("/scratch/sweep1"),
            &[0, 1, 2, 3],
        )
        .unwrap();
        for line in [
            "#!/bin/bash\n",
            "#SBATCH --array=0-3%2\n",
            "#SBATCH --partition=gpu\n",
            "#SBATCH --time=02:00:00\n",
            "#SBATCH --cpus-per-task=4\n",
            "#SBATCH --mem=8G\n",
            "#SBATCH --output=/scratch/sweep1/slurm/%A_%a.out\n",
            "#SBATCH --error=/scratch/sweep1/slurm/%A_%a.err\n",
            "#SBATCH --account=rl\n",
            "exec '/opt/ordergrad bin/ordergrad' sweep-task --manifest /scratch/sweep1/sweep.json --index \"$SLURM_ARRAY_TASK_ID\"\n",
        ] {
            assert!(script.contains(line), "missing {line:?} in\n{script}");
        }
        let last_sbatch = script.rfind("#SBATCH").unwrap();
        let first_command = script.find("set -euo").unwrap();
        assert!(
            last_sbatch < first_command,
            "sbatch reads options only before commands"
        );
    }

    #[test]
    fn settings_that_would_break_the_script_are_refused() {
        let mut bad = resources();
        bad.time = "1 hour".into();
        let error = sbatch_script(&bad, Path::new("/o"), Path::new("/s"), &[0]).unwrap_err();
        assert!(error.is_bad_input());
        assert!(error.to_string().contains("--time"), "{error}");
        let error = sbatch_script(&resources(), Path::new("/o"), Path::new("/my sweep"), &[0])
            .unwrap_err()
            .to_string();
        assert!(error.contains("spaces"), "{error}");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("/a/b-c_d.e"), "/a/b-c_d.e");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn programs_are_found_only_on_the_given_path() {
        let dir = std::env::temp_dir().join(format!("ordergrad-path-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(find_on_path("sbatch", Some(dir.as_os_str())), None);
        assert_eq!(find_on_path("sbatch", None), None);
        let fake = dir.join("sbatch");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(find_on_path("sbatch", Some(dir.as_os_str())), Some(fake));
    }
}
