//! Unattended runs, each with real processes: the lock (exit 75), kill -9 at several points
//! followed by a rerun, and reruns that find nothing new.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{bin, repo_root};

/// A work folder with the seeds as input and a pipeline without model stages.
fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input");
    fs::create_dir_all(&input).unwrap();
    for e in fs::read_dir(repo_root().join("input")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), input.join(e.file_name())).unwrap();
    }
    fs::write(
        tmp.path().join("p.toml"),
        "name = 'cron'\n[input]\npaths = ['input']\n[[stage]]\ntype = 'normalize'\n[[stage]]\ntype = 'overlap'\n[output]\ndir = 'out'\nformat = 'both'\n",
    )
    .unwrap();
    tmp
}

fn newsmill(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir).args(["run", "p.toml", "--progress", "never"]).args(args);
    c
}

/// Every file under the table folders and csv/, with its bytes.
fn tables(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    for t in newsmill::schema::TABLES.iter().map(|t| t.name).chain(["csv"]) {
        let d = out.join(t);
        let mut names: Vec<_> = fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        for p in names {
            v.push((p.strip_prefix(out).unwrap().to_path_buf(), fs::read(&p).unwrap()));
        }
    }
    v
}

fn manifest(out: &Path, run_id: &str) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(out.join("_runs").join(format!("{run_id}.json"))).unwrap()).unwrap()
}

fn summary(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Starts a run that stalls at `point`, waits until it gets there, and returns it.
fn start_stalled(dir: &Path, point: &str) -> std::process::Child {
    let mut child = newsmill(dir, &[])
        .env("NEWSMILL_FAULT", point)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    for line in BufReader::new(err).lines() {
        if line.unwrap().contains(&format!("fault point {point} reached")) {
            return child;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("run never reached fault point {point}");
}

#[test]
fn a_second_run_on_a_locked_output_exits_75() {
    let tmp = setup();
    let mut first = start_stalled(tmp.path(), "extract");
    let second = newsmill(tmp.path(), &[]).output().unwrap();
    assert_eq!(second.status.code(), Some(75), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(String::from_utf8_lossy(&second.stderr).contains("locked by another run (pid"));
    first.kill().unwrap();
    first.wait().unwrap();
    // The lock died with its holder.
    let third = newsmill(tmp.path(), &[]).output().unwrap();
    assert!(third.status.success(), "{}", String::from_utf8_lossy(&third.stderr));
}

#[test]
fn kill_9_at_any_point_leaves_the_committed_tables_and_a_rerun_completes() {
    let tmp = setup();
    let out = tmp.path().join("out");
    assert!(newsmill(tmp.path(), &[]).output().unwrap().status.success());
    let committed = tables(&out);
    // A fresh reference run over the grown input.
    let reference = setup();
    fs::write(reference.path().join("input/extra.txt"), "Officials said on Friday that talks would resume next week.").unwrap();
    assert!(newsmill(reference.path(), &[]).output().unwrap().status.success());
    let want = tables(&reference.path().join("out"));
    fs::write(tmp.path().join("input/extra.txt"), "Officials said on Friday that talks would resume next week.").unwrap();
    for point in ["extract", "write", "commit"] {
        let mut child = start_stalled(tmp.path(), point);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if point == "commit" {
            // Killed right after the first table was swapped: every table folder is still
            // there and readable, each either the old or the new version.
            for t in newsmill::schema::TABLES {
                let f = out.join(t.name).join("part-00000.parquet");
                let r = parquet::file::reader::SerializedFileReader::new(fs::File::open(&f).unwrap());
                assert!(r.is_ok(), "{} unreadable after kill -9 during commit", t.name);
            }
        } else {
            assert_eq!(tables(&out), committed, "committed tables changed after kill -9 at {point}");
        }
    }
    // The rerun cleans up and completes; its tables equal an uninterrupted run's.
    assert!(newsmill(tmp.path(), &[]).output().unwrap().status.success());
    assert_eq!(tables(&out), want);
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".staging") || n.starts_with(".old"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn kill_9_between_the_renames_of_the_fallback_swap_is_repaired_by_the_next_run() {
    let tmp = setup();
    let out = tmp.path().join("out");
    assert!(newsmill(tmp.path(), &[]).output().unwrap().status.success());
    fs::write(tmp.path().join("input/extra.txt"), "Officials said on Friday that talks would resume next week.").unwrap();
    let mut child = newsmill(tmp.path(), &[])
        .env("NEWSMILL_FAULT", "commit")
        .env("NEWSMILL_NO_EXCHANGE", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    assert!(BufReader::new(err).lines().any(|l| l.unwrap().contains("fault point commit reached")));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(out.join(".old-csv").exists());
    assert!(newsmill(tmp.path(), &[]).output().unwrap().status.success());
    assert!(!out.join(".old-csv").exists());
    assert_eq!(tables(&out).len(), 2 * newsmill::schema::TABLES.len());
}

#[test]
fn rerun_on_unchanged_input_does_nothing_and_added_files_match_a_full_run() {
    let tmp = setup();
    let out = tmp.path().join("out");
    let first = summary(&newsmill(tmp.path(), &["--summary", "json"]).output().unwrap());
    assert_eq!(first["extracted_documents"], 5);
    let before = tables(&out);
    let again = summary(&newsmill(tmp.path(), &["--summary", "json"]).output().unwrap());
    assert_eq!(again["nothing_new"], true);
    assert_eq!(again["extracted_documents"], 0);
    assert_eq!(tables(&out), before);
    assert_eq!(manifest(&out, first["run_id"].as_str().unwrap())["documents"], 5);

    fs::write(tmp.path().join("input/extra.txt"), "A new report came in overnight, officials said.").unwrap();
    let grown = summary(&newsmill(tmp.path(), &["--summary", "json"]).output().unwrap());
    assert_eq!(grown["documents"], 6);
    assert_eq!(grown["extracted_documents"], 1, "only the new file is extracted");
    let full = setup();
    fs::write(full.path().join("input/extra.txt"), "A new report came in overnight, officials said.").unwrap();
    let f = summary(&newsmill(full.path(), &["--full", "--summary", "json"]).output().unwrap());
    assert_eq!(f["extracted_documents"], 6);
    assert_eq!(tables(&out), tables(&full.path().join("out")));
}

#[test]
fn max_rejects_exits_3_after_committing() {
    let tmp = setup();
    fs::write(tmp.path().join("input/empty.txt"), "").unwrap();
    let o = newsmill(tmp.path(), &["--max-rejects", "0"]).output().unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(tmp.path().join("out/rejects/part-00000.parquet").exists());
    let o = newsmill(tmp.path(), &["--max-rejects", "50%", "--full"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    // Logs are JSON lines when stderr is not a terminal, and stdout stays quiet.
    let o = newsmill(tmp.path(), &["--full"]).output().unwrap();
    assert!(o.stdout.is_empty());
    let first = String::from_utf8_lossy(&o.stderr).lines().next().unwrap().to_string();
    assert!(serde_json::from_str::<serde_json::Value>(&first).is_ok(), "{first}");
}
