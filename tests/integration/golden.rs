//! Golden cases: `tests/golden/<case>/{pipeline.toml, input/, expected/*.csv}`. Each case is
//! copied to a temporary folder (with `models` linked to the repository's), run with the real
//! binary, and every CSV in `expected/` must equal the run's `out/csv/` file, `run_id` column
//! aside (it hashes the version). `NEWSMILL_BLESS=1 cargo test golden` rewrites the expected
//! files; review the diff before committing (see tests/golden/README.md).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{bin, repo_root};

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Drops the `run_id` column so that expected files survive a version bump.
fn without_run_id(csv_text: &str) -> String {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(csv_text.as_bytes());
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut drop = None;
    for (i, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        if i == 0 {
            drop = rec.iter().position(|h| h == "run_id");
        }
        let kept: Vec<&str> = rec.iter().enumerate().filter(|(j, _)| Some(*j) != drop).map(|(_, v)| v).collect();
        w.write_record(kept).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// Runs one case and returns the folder it ran in (kept alive by the TempDir).
pub fn run_case(case: &str, extra: &[&str]) -> tempfile::TempDir {
    let src = repo_root().join("tests/golden").join(case);
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(src.join("pipeline.toml"), tmp.path().join("pipeline.toml")).unwrap();
    copy_dir(&src.join("input"), &tmp.path().join("input"));
    std::os::unix::fs::symlink(repo_root().join("models"), tmp.path().join("models")).unwrap();
    let out = Command::new(bin())
        .current_dir(tmp.path())
        .args(["run", "pipeline.toml", "--progress", "never"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{case}: newsmill failed: {}", String::from_utf8_lossy(&out.stderr));
    tmp
}

fn check_case(case: &str) {
    let tmp = run_case(case, &[]);
    let expected = repo_root().join("tests/golden").join(case).join("expected");
    let bless = std::env::var_os("NEWSMILL_BLESS").is_some();
    if bless {
        fs::create_dir_all(&expected).unwrap();
    }
    // Blessing an empty case takes every table the run wrote.
    let listed = if bless && fs::read_dir(&expected).unwrap().next().is_none() {
        tmp.path().join("out/csv")
    } else {
        expected.clone()
    };
    let mut names: Vec<_> = fs::read_dir(&listed).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert!(!names.is_empty(), "{case}: no expected files");
    for name in names {
        let got = fs::read_to_string(tmp.path().join("out/csv").join(&name)).unwrap();
        let got = without_run_id(&got);
        let path = expected.join(&name);
        if bless {
            fs::write(&path, &got).unwrap();
            continue;
        }
        let want = fs::read_to_string(&path).unwrap();
        if got != want {
            let diff: Vec<String> = want
                .lines()
                .zip(got.lines())
                .filter(|(a, b)| a != b)
                .take(5)
                .map(|(a, b)| format!("- {a}\n+ {b}"))
                .collect();
            panic!(
                "{case}/{}: output differs from expected ({} vs {} lines)\n{}",
                name.to_string_lossy(),
                want.lines().count(),
                got.lines().count(),
                diff.join("\n")
            );
        }
    }
}

#[test]
fn golden_bad_inputs() {
    check_case("bad_inputs");
}

#[test]
fn golden_seeds() {
    check_case("seeds");
}
