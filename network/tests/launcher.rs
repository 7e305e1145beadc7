//! The launcher as icp-cli runs it: a process given the interface's flags,
//! which writes `status.json` once the network answers and, stopped by a
//! signal, exits cleanly and removes it — also when the signal comes while
//! the network is still booting.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn launch(status_dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_icp-economy-launcher"))
        .args([
            "--interface-version",
            "1.1.0",
            "--bind",
            "127.0.0.1",
            "--status-dir",
        ])
        .arg(status_dir)
        .spawn()
        .expect("the launcher starts")
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "waited for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("launcher-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn status_json_once_the_network_answers_and_removed_at_sigterm() {
    let dir = status_dir("term");
    let mut child = launch(&dir);
    let status_file = dir.join("status.json");
    wait_for("status.json", || status_file.exists());
    let text = std::fs::read_to_string(&status_file).unwrap();
    assert!(
        text.ends_with("}\n") && text.starts_with("{\"v\":\"1\""),
        "{text}"
    );
    let port: u16 = text
        .split("\"gateway_port\":")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|port| port.parse().ok())
        .expect("a gateway port");
    let (code, body) = icp_economy_network::plain_http(
        &format!("http://127.0.0.1:{port}"),
        "GET",
        "/api/v2/status",
    )
    .expect("the gateway answers");
    assert_eq!(code, 200, "{body}");
    signal(&child, "TERM");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit}");
    assert!(!status_file.exists(), "the status file is removed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_signal_during_the_boot_stops_it_cleanly() {
    let dir = status_dir("early");
    let mut child = launch(&dir);
    // As soon as it catches SIGINT (bit 2 of the caught-signals mask), which
    // it does before booting.
    let status = format!("/proc/{}/status", child.id());
    wait_for("the SIGINT handler", || {
        std::fs::read_to_string(&status)
            .ok()
            .and_then(|text| {
                let mask = text.lines().find_map(|l| l.strip_prefix("SigCgt:"))?;
                u64::from_str_radix(mask.trim(), 16).ok()
            })
            .is_some_and(|mask| mask & (1 << (2 - 1)) != 0)
    });
    signal(&child, "INT");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit}");
    assert!(!dir.join("status.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
