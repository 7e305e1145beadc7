//! The API-types crate stays usable by off-chain clients: it must not depend
//! on `ic-cdk`, directly or through another crate.

use integration_tests::repo_root;
use std::process::Command;

#[test]
fn should_keep_ic_cdk_out_of_the_api_crate() {
    let output = Command::new(env!("CARGO"))
        .current_dir(repo_root())
        .args([
            "tree",
            "--locked",
            "-p",
            "nns-api",
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    assert!(
        tree.lines().any(|l| l.starts_with("candid ")),
        "the tree lists dependencies"
    );
    let offenders: Vec<_> = tree.lines().filter(|l| l.starts_with("ic-cdk")).collect();
    assert!(offenders.is_empty(), "nns-api depends on {offenders:?}");
}
