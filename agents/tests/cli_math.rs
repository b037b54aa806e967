//! The `weights` and `advantages` commands as a user runs them: JSON on stdout, exit code 2 and
//! a message on stderr for bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn ordergrad(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ordergrad"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ordergrad binary starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn floats(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn weights_prints_the_spec_vector() {
    let output = json(&ordergrad(
        &["weights", "--objective", "max", "--n", "8", "--k", "4"],
        None,
    ));
    assert_eq!(output["objective"], "max");
    assert_eq!(output["n"], 8);
    assert_eq!(output["k"], 4);
    let expected = [
        0.0,
        0.0,
        0.0,
        1.0 / 70.0,
        2.0 / 35.0,
        1.0 / 7.0,
        2.0 / 7.0,
        0.5,
    ];
    for (got, want) in floats(&output["rank_weights"]).iter().zip(expected) {
        assert!((got - want).abs() < 1e-12);
    }
}

#[test]
fn advantages_from_flag_and_from_stdin_agree_with_the_spec() {
    let from_flag = json(&ordergrad(
        &[
            "advantages",
            "--objective",
            "max",
            "--k",
            "4",
            "--rewards",
            "0.3,1.2,-0.5,0.9,0.0,2.1,0.7,-1.0",
        ],
        None,
    ));
    let from_stdin = json(&ordergrad(
        &["advantages", "--objective", "max", "--k", "4"],
        Some("[0.3, 1.2, -0.5, 0.9, 0.0, 2.1, 0.7, -1.0]"),
    ));
    assert_eq!(from_flag, from_stdin);
    assert!((from_flag["value"].as_f64().unwrap() - 274.0 / 175.0).abs() < 1e-12);
    let advantages = floats(&from_flag["advantages"]);
    assert!((advantages[5] - 187.0 / 175.0).abs() < 1e-12);
    assert_eq!(floats(&from_flag["rank_weights"]).len(), 8);
}

#[test]
fn bad_input_exits_with_code_2_and_says_what_is_accepted() {
    let cases: [(&[&str], Option<&str>, &str); 7] = [
        (
            &["weights", "--objective", "cvar:1.5", "--n", "8", "--k", "4"],
            None,
            "Accepted forms",
        ),
        (
            &["weights", "--objective", "max", "--n", "3", "--k", "4"],
            None,
            "1 <= K <= N",
        ),
        (
            &[
                "advantages",
                "--objective",
                "max",
                "--k",
                "4",
                "--rewards",
                "1,2,3,4",
            ],
            None,
            "K <= N - 1",
        ),
        (
            &[
                "advantages",
                "--objective",
                "max",
                "--k",
                "2",
                "--rewards",
                "1,x,3",
            ],
            None,
            "not a number",
        ),
        (
            &[
                "advantages",
                "--objective",
                "max",
                "--k",
                "2",
                "--rewards",
                "1,NaN,3",
            ],
            None,
            "non-finite",
        ),
        (
            &["advantages", "--objective", "max", "--k", "2"],
            Some("{\"a\": 1}"),
            "JSON array",
        ),
        (
            &[
                "advantages",
                "--objective",
                "top:9",
                "--k",
                "2",
                "--rewards",
                "1,2,3",
            ],
            None,
            "does not fit",
        ),
    ];
    for (args, stdin, message) in cases {
        let output = ordergrad(args, stdin);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
