//! The main job's binary as a user runs it: a few days of the small preset
//! print the table and reconcile, write the CSV and the chart; the
//! break-even sweep answers with its inputs and draws its chart; bad flags
//! are refused with the usage.

use std::path::PathBuf;
use std::process::Command;

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn economy(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_icp-economy"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_small_run_prints_the_table_writes_its_files_and_reconciles() {
    let out = out_dir("run");
    let (ok, stdout, stderr) = economy(&[
        "--preset",
        "small",
        "--days",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    for row in [
        "ICP supply at start",
        "ICP minted for node providers",
        "ICP burned for cycles (CMC)",
        "canister messages a simulated day",
        "Reconciliation",
    ] {
        assert!(stdout.contains(row), "no '{row}' in:\n{stdout}");
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("economy.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "a header and days 0 to 3");
    let png = std::fs::read(out.join("economy.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn the_sweep_answers_with_its_inputs_and_draws_the_trajectories() {
    let out = out_dir("sweep");
    let (ok, stdout, stderr) = economy(&[
        "break-even",
        "--days",
        "3",
        "--levels",
        "0,200",
        "--no-sales",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("Inputs: supply 553 M ICP"), "{stdout}");
    // Over three days, no demand leaves the supply growing and 200 times
    // today's burns more than is minted: the answer lies between.
    let answer = stdout
        .lines()
        .find(|l| l.starts_with("Answer:"))
        .unwrap_or_else(|| panic!("no answer in:\n{stdout}"));
    let demand: f64 = answer
        .split("starts at × ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("no demand in '{answer}'"));
    assert!(demand > 0.0 && demand < 200.0, "{answer}");
    let png = std::fs::read(out.join("break-even.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn bad_flags_are_refused_with_the_usage() {
    for args in [
        &["--days", "none"][..],
        &["--preset", "testnet"],
        &["--neurons", "3"],
        &["break-even", "--levels", "5,1"],
        &["--frobnicate", "1"],
    ] {
        let (ok, _, stderr) = economy(args);
        assert!(!ok, "{args:?} accepted");
        assert!(
            stderr.contains("usage: scripts/run.sh"),
            "{args:?}: {stderr}"
        );
    }
}
