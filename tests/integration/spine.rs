//! The spine end to end: every record lands in documents or rejects, thread count does not
//! change a byte, every shipped pipeline validates, and bad pipelines report every problem.

use std::fs;
use std::process::Command;

use crate::golden::run_case;
use crate::util::{bin, repo_root};

fn csv_rows(path: &std::path::Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).unwrap().records().map(|r| r.unwrap()).collect()
}

#[test]
fn bad_inputs_are_refused_with_reasons_and_nothing_is_lost() {
    let tmp = run_case("bad_inputs", &[]);
    let docs = csv_rows(&tmp.path().join("out/csv/documents.csv"));
    let rejects = csv_rows(&tmp.path().join("out/csv/rejects.csv"));
    let reasons: Vec<(String, String)> = rejects.iter().map(|r| (r[0].to_string(), r[2].to_string())).collect();
    for (file, reason) in [
        ("input/empty.txt", "empty"),
        ("input/binary.dat", "binary"),
        ("input/mixed.jsonl", "malformed_json"),
        ("input/mixed.jsonl", "missing_text_field"),
        ("input/mixed.jsonl", "empty"),
        ("input/no_text_column.csv", "missing_text_field"),
    ] {
        assert!(reasons.contains(&(file.to_string(), reason.to_string())), "no {reason} reject for {file}: {reasons:?}");
    }
    // mixed.jsonl has 5 lines: 2 documents + 3 rejects; no_text_column.csv 2 rows; gz 2 docs.
    let count = |f: &str, rows: &[csv::StringRecord], col: usize| rows.iter().filter(|r| &r[col] == f).count();
    assert_eq!(count("input/mixed.jsonl", &docs, 1) + count("input/mixed.jsonl", &rejects, 0), 5);
    assert_eq!(count("input/no_text_column.csv", &rejects, 0), 2);
    assert_eq!(count("input/compressed.jsonl.gz", &docs, 1), 2);
    let latin = docs.iter().find(|r| &r[1] == "input/latin1.txt").expect("latin1 document");
    assert_eq!(&latin[12], "windows-1252");
    assert!(latin[13].contains("café"));
    let manifest = fs::read_dir(tmp.path().join("out/_runs")).unwrap().next().unwrap().unwrap().path();
    let m: serde_json::Value = serde_json::from_str(&fs::read_to_string(manifest).unwrap()).unwrap();
    assert_eq!(m["documents"].as_u64().unwrap() as usize, docs.len());
    assert_eq!(m["rejected"].as_u64().unwrap() as usize, rejects.len());
}

#[test]
fn one_and_two_threads_give_identical_tables() {
    let a = run_case("seeds", &["--threads", "1", "--format", "both"]);
    let b = run_case("seeds", &["--threads", "2", "--format", "both"]);
    let mut compared = 0;
    for sub in ["csv"].into_iter().chain(newsmill::schema::TABLES.iter().map(|t| t.name)) {
        let da = a.path().join("out").join(sub);
        for e in fs::read_dir(&da).unwrap() {
            let name = e.unwrap().file_name();
            let x = fs::read(da.join(&name)).unwrap();
            let y = fs::read(b.path().join("out").join(sub).join(&name)).unwrap();
            assert!(x == y, "{sub}/{} differs between 1 and 2 threads", name.to_string_lossy());
            compared += 1;
        }
    }
    assert_eq!(compared, 16);
}

#[test]
fn every_shipped_pipeline_validates() {
    let mut files: Vec<_> = fs::read_dir(repo_root().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let out = Command::new(bin()).current_dir(repo_root()).arg("validate").args(&files).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn invalid_pipeline_reports_every_problem_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bad.toml");
    fs::write(&p, "name = ''\n[input]\npaths = []\n[[stage]]\ntype = 'overlap'\n[[stage]]\ntype = 'normalize'\n[output]\ndir = ''\n").unwrap();
    let out = Command::new(bin()).args(["validate"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["name:", "input.paths", "output.dir", "stage 1 (normalize)"] {
        assert!(err.contains(needle), "missing {needle:?} in {err}");
    }
    let typo = tmp.path().join("typo.toml");
    fs::write(&typo, "name = 'x'\n[input]\npaths = ['a']\n[[stage]]\ntype = 'normalize'\nlift_headr = true\n[output]\ndir = 'o'\n").unwrap();
    let out = Command::new(bin()).args(["run"]).arg(&typo).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lift_headr"));
}

#[test]
fn missing_input_fails_with_exit_1_and_schema_prints_every_table() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("p.toml");
    fs::write(&p, "name = 'x'\n[input]\npaths = ['nope']\n[output]\ndir = 'o'\n").unwrap();
    let out = Command::new(bin()).current_dir(tmp.path()).args(["run", "p.toml", "--progress", "never"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = Command::new(bin()).arg("schema").output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    for t in newsmill::schema::TABLES {
        assert!(s.contains(t.name));
    }
}

/// A JSONL file of more records than one batch holds is streamed in several batches, beside
/// small files read whole; every record lands once, in input order, and a rerun that finds
/// the big file in the extraction cache gives the same tables as a full run.
#[test]
fn a_file_larger_than_a_batch_streams_in_order_and_nothing_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input");
    fs::create_dir(&input).unwrap();
    fs::write(input.join("a.txt"), "A small report about the harbour.\n").unwrap();
    let mut big = String::new();
    let n = 9000; // more than one batch of records
    for i in 0..n {
        if i % 1000 == 7 {
            big.push_str("{not json\n");
        } else {
            big.push_str(&format!("{{\"text\": \"Report number {i} about the harbour and the bridge, line {i}.\"}}\n"));
        }
    }
    // Over the size under which files are read whole, so it is streamed.
    big.push_str(&format!("{{\"text\": \"{}\"}}\n", "padding words ".repeat(80_000)));
    fs::write(input.join("b.jsonl"), &big).unwrap();
    fs::write(input.join("c.txt"), "Another small report.\n").unwrap();
    let pipeline = tmp.path().join("p.toml");
    fs::write(&pipeline, "name = 'stream'\n[input]\npaths = ['input']\n[[stage]]\ntype = 'normalize'\n[output]\ndir = 'out'\nformat = 'csv'\n").unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(bin()).current_dir(tmp.path()).arg("run").arg(&pipeline).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        fs::read(tmp.path().join("out/csv/documents.csv")).unwrap()
    };
    let first = run(&["--full"]);
    let docs = csv::Reader::from_reader(first.as_slice()).records().map(|r| r.unwrap()).collect::<Vec<_>>();
    let rejects = csv_rows(&tmp.path().join("out/csv/rejects.csv"));
    assert_eq!(docs.len() + rejects.len(), 2 + n + 1);
    assert_eq!(rejects.len(), 9);
    let order: Vec<(String, u64)> = docs.iter().map(|r| (r[1].to_string(), r[2].parse().unwrap())).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "documents are not in input order");
    assert_eq!(order.first().unwrap().0, "input/a.txt");
    assert_eq!(order.last().unwrap().0, "input/c.txt");
    // touch a small file: the big one comes from the cache, the tables stay the same
    fs::write(input.join("c.txt"), "Another small report.\n").unwrap();
    assert_eq!(run(&[]), first);
}

/// A damaged extraction cache entry (cut short after its first chunks) is noticed while its
/// documents are being kept: what was kept of it is taken back, the file is read again, and
/// the tables, overlap included, are those of a full run.
#[test]
fn a_damaged_cache_entry_is_read_again_and_the_tables_stay_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input");
    fs::create_dir(&input).unwrap();
    fs::write(input.join("a.txt"), "A small report about the harbour.\n").unwrap();
    let mut big = String::new();
    for i in 0..9000 {
        let story = i % 40;
        big.push_str(&format!(
            "{{\"id\": \"r{i}\", \"text\": \"Report {story} about the harbour and the bridge in district {story}. \
             The council said on Monday that the works on bridge {story} would start in spring.\"}}\n"
        ));
    }
    // Over the size under which files are read whole, so it is streamed in several chunks.
    big.push_str(&format!("{{\"text\": \"{}\"}}\n", "padding words ".repeat(80_000)));
    fs::write(input.join("b.jsonl"), &big).unwrap();
    fs::write(input.join("c.txt"), "Another small report.\n").unwrap();
    let pipeline = tmp.path().join("p.toml");
    fs::write(
        &pipeline,
        "name = 'damaged'\n[input]\npaths = ['input']\n[[stage]]\ntype = 'normalize'\n[[stage]]\ntype = 'overlap'\n[output]\ndir = 'out'\nformat = 'csv'\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(bin()).current_dir(tmp.path()).arg("run").arg(&pipeline).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let tables =
            ["documents", "duplicates", "stories", "rejects"].map(|t| fs::read(tmp.path().join(format!("out/csv/{t}.csv"))).unwrap());
        (tables, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (first, _) = run(&["--full"]);
    // The big file's entry is the largest; cut off its end, inside its last chunk, so that its
    // first chunk is kept before the damage shows.
    let cache = tmp.path().join("out/_state/cache");
    let entry = fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .expect("a cache entry");
    let bytes = fs::read(&entry).unwrap();
    fs::write(&entry, &bytes[..bytes.len() - 16]).unwrap();
    fs::write(input.join("c.txt"), "Another small report.\n").unwrap();
    let (second, log) = run(&[]);
    assert!(log.contains("unreadable extraction cache entry"), "the damage went unnoticed: {log}");
    for (t, (a, b)) in ["documents", "duplicates", "stories", "rejects"].iter().zip(first.iter().zip(&second)) {
        assert!(a == b, "{t} differs after reading a damaged cache entry again");
    }
}
