//! Records the git commit the binary was built from (for `servicedesk --version`), when built
//! from a checkout; a build from a source archive (or a Docker context without `.git`) has none.

use std::process::Command;

fn main() {
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points at (a commit).
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        if let Some(reference) = head.trim().strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed=.git/{reference}");
        }
    }
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if let Some(commit) = commit {
        println!("cargo:rustc-env=SERVICEDESK_COMMIT={commit}");
    }
}
