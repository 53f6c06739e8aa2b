//! Integration tests of the overlap stage: the seeds (golden), the dev-corpus floors, and
//! properties (order and thread independence, unique documents never marked copies, no
//! panics on arbitrary text).

use newsmill::overlap::{
    self, eval, EvalLevel, OverlapConfig, OverlapDoc, OverlapOutput, OverlapQuote,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::util::{corpus, repo_root};

/// Quoted spans between curly or straight double quotes: a stand-in for the quote stage.
fn simple_quotes(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match (c, open) {
            ('\u{201c}', _) => open = Some(i + c.len_utf8()),
            ('\u{201d}', Some(s)) => {
                out.push(&text[s..i]);
                open = None;
            }
            ('\n', _) => open = None,
            _ => {}
        }
    }
    out
}

fn seeds() -> Option<Vec<(String, String)>> {
    let dir = repo_root().join("..").join("shared").join("seeds");
    if !dir.exists() {
        eprintln!("skipping: seeds not found at {}", dir.display());
        return None;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    Some(
        files
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .map(|p| {
                (
                    p.file_stem().unwrap().to_string_lossy().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect(),
    )
}

#[test]
fn seeds_are_one_story_no_copies_and_the_trump_quotes_cluster() {
    let Some(seeds) = seeds() else { return };
    let docs: Vec<OverlapDoc> = seeds
        .iter()
        .map(|(id, t)| OverlapDoc {
            doc_id: id,
            text: t,
            title: None,
            published_at: None,
            entity_ids: vec![],
        })
        .collect();
    let mut quotes = Vec::new();
    for (i, (_, t)) in seeds.iter().enumerate() {
        for q in simple_quotes(t) {
            quotes.push(OverlapQuote {
                doc: i,
                text: q,
                speaker_entity_id: None,
            });
        }
    }
    let out = overlap::run(&docs, &quotes, &OverlapConfig::default());
    assert_eq!(
        out.stories.len(),
        1,
        "the five seeds are one story: {:?}",
        out.stories
    );
    assert_eq!(out.stories[0].n_documents, 5);
    for d in &out.duplicates {
        assert_eq!(d.relation, "unique", "{} marked as a copy", d.doc_id);
        assert!(d.is_canonical);
    }
    let cluster_docs = |needle: &str| -> BTreeMap<String, BTreeSet<usize>> {
        let mut m: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        for (qi, q) in quotes.iter().enumerate() {
            if q.text.contains(needle) {
                m.entry(out.quote_clusters[out.quote_cluster_of[qi].unwrap() as usize].quote_cluster_id.clone())
                    .or_default()
                    .insert(q.doc);
            }
        }
        m
    };
    let later = cluster_docs("let you know that maybe later today");
    assert_eq!(
        later.len(),
        1,
        "one cluster for 'We'll let you know...': {later:?}"
    );
    assert_eq!(later.values().next().unwrap().len(), 2);
    let assurance = cluster_docs("You have my assurance");
    assert_eq!(
        assurance.len(),
        1,
        "one cluster for 'You have my assurance...': {assurance:?}"
    );
    assert_eq!(assurance.values().next().unwrap().len(), 2);
    for id in later.keys().chain(assurance.keys()) {
        let row = out
            .quote_clusters
            .iter()
            .find(|r| &r.quote_cluster_id == id)
            .unwrap();
        assert_eq!(row.n_documents, 2);
    }
}

/// How a floor test runs the story tier.
#[derive(Clone, Copy, Debug)]
enum Evidence {
    /// On the texts alone.
    TextOnly,
    /// With the entities and quotes the shipped models find, as a pipeline run with every
    /// stage on.
    Pipeline,
}

fn floor(corpus_name: &str, file: &str, fields: [&str; 2], id: Option<&str>, level: EvalLevel, evidence: Evidence, min_ari: f64) {
    let Some(dir) = corpus(corpus_name) else {
        return;
    };
    let docs = eval::read_labelled(&dir.join(file), fields[0], fields[1], id).unwrap();
    let extracted = match evidence {
        Evidence::TextOnly => None,
        Evidence::Pipeline => Some(eval::extract(&docs, &repo_root().join("models")).expect("shipped models load")),
    };
    let (s, _) = eval::evaluate(&docs, level, &OverlapConfig::default(), extracted.as_ref());
    eprintln!("{corpus_name} ({evidence:?}): {s:?}");
    assert!(
        s.ari >= min_ari,
        "{corpus_name} ({evidence:?}): ARI {} fell below the floor {min_ari}",
        s.ari
    );
}

#[test]
fn floor_copies_on_ecbplus_syndication_dev() {
    floor("ecbplus-syndication-synth", "dev.jsonl", ["text", "dup_group"], None, EvalLevel::Copies, Evidence::TextOnly, 0.969);
}

#[test]
fn floor_stories_on_ecbplus_dev() {
    floor("ecbplus-stories", "dev.jsonl", ["text", "story_id"], None, EvalLevel::Stories, Evidence::Pipeline, 0.90);
}

#[test]
fn floor_stories_on_ecbplus_dev_text_only() {
    floor("ecbplus-stories", "dev.jsonl", ["text", "story_id"], None, EvalLevel::Stories, Evidence::TextOnly, 0.905);
}

#[test]
fn floor_stories_on_uci_headlines_dev() {
    floor("uci-news-aggregator-stories", "dev.csv", ["TITLE", "STORY"], Some("ID"), EvalLevel::Stories, Evidence::Pipeline, 0.756);
}

#[test]
fn floor_stories_on_uci_headlines_dev_text_only() {
    floor("uci-news-aggregator-stories", "dev.csv", ["TITLE", "STORY"], Some("ID"), EvalLevel::Stories, Evidence::TextOnly, 0.745);
}

#[test]
fn eval_dedup_prints_the_json_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.jsonl");
    let body = "the quick brown fox jumps over the lazy dog near the river bank today";
    std::fs::write(
        &p,
        format!("{{\"doc_id\":\"a\",\"text\":\"{body}\",\"g\":1}}\n{{\"doc_id\":\"b\",\"text\":\"{body}!\",\"g\":1}}\n{{\"doc_id\":\"c\",\"text\":\"something else entirely\",\"g\":2}}\n"),
    )
    .unwrap();
    let out = overlap::eval_dedup(&p, overlap::EvalFields { text: "text", gold: "g", id: None }, EvalLevel::Copies, &Default::default(), None, true, None).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "ari",
            "documents",
            "pair_f1",
            "pair_precision",
            "pair_recall",
            "seconds"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(v["ari"], 1.0);
    assert_eq!(v["documents"], 3);
    let pred = dir.path().join("pred.csv");
    let human = overlap::eval_dedup(&p, overlap::EvalFields { text: "text", gold: "g", id: None }, EvalLevel::Stories, &Default::default(), None, false, Some(&pred)).unwrap();
    assert!(human.contains("ARI"));
    assert!(human.contains("texts alone"), "{human}");
    let models = repo_root().join("models");
    let with = overlap::eval_dedup(&p, overlap::EvalFields { text: "text", gold: "g", id: None }, EvalLevel::Stories, &Default::default(), Some(&models), false, None).unwrap();
    assert!(with.contains("with the entities and quotes"), "{with}");
    let missing = dir.path().join("no-models");
    let err = overlap::eval_dedup(&p, overlap::EvalFields { text: "text", gold: "g", id: None }, EvalLevel::Stories, &Default::default(), Some(&missing), false, None).unwrap_err();
    assert!(format!("{err:#}").contains("--text-only"), "{err:#}");
    // One row per document: id, gold, predicted cluster, text.
    let mut rdr = csv::Reader::from_path(&pred).unwrap();
    assert_eq!(rdr.headers().unwrap(), vec!["id", "gold", "predicted", "text"]);
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][2], rows[1][2]);
    assert!(overlap::eval_dedup(&p, overlap::EvalFields { text: "body", gold: "g", id: None }, EvalLevel::Copies, &Default::default(), None, false, None).is_err());
}

/// Copy clusters, story clusters, and per document (is_canonical, ids and relation).
type Partitions = (
    BTreeSet<BTreeSet<String>>,
    BTreeSet<BTreeSet<String>>,
    BTreeMap<String, (bool, String)>,
);

/// The partition an output describes, keyed by doc id (independent of input order and ids).
fn partitions(out: &OverlapOutput) -> Partitions {
    let mut dup: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut story: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut rows = BTreeMap::new();
    for d in &out.duplicates {
        dup.entry(&d.dup_cluster_id)
            .or_default()
            .insert(d.doc_id.clone());
        story
            .entry(&d.story_id)
            .or_default()
            .insert(d.doc_id.clone());
        rows.insert(
            d.doc_id.clone(),
            (
                d.is_canonical,
                format!(
                    "{}/{}/{}/{}",
                    d.dup_cluster_id, d.story_id, d.relation, d.similarity
                ),
            ),
        );
    }
    (
        dup.into_values().collect(),
        story.into_values().collect(),
        rows,
    )
}

fn texts_strategy() -> impl Strategy<Value = Vec<String>> {
    // Documents built from a few base texts with edits, so copies and stories occur.
    let base = prop::collection::vec(prop::collection::vec(0u16..400, 20..120), 1..5);
    (
        base,
        prop::collection::vec((0usize..5, 0usize..60, 0usize..3), 2..14),
    )
        .prop_map(|(bases, picks)| {
            picks
                .into_iter()
                .map(|(b, cut, salt)| {
                    let words = &bases[b % bases.len()];
                    let cut = cut.min(words.len() / 2);
                    words[cut..]
                        .iter()
                        .map(|w| format!("w{}x{}", w, if *w % 7 == 0 { salt } else { 0 }))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn clusters_do_not_depend_on_input_order_or_threads(texts in texts_strategy(), rot in 0usize..13) {
        let ids: Vec<String> = (0..texts.len()).map(|i| format!("doc{i:02}")).collect();
        let docs: Vec<OverlapDoc> = texts.iter().zip(&ids).map(|(t, id)| OverlapDoc { doc_id: id, text: t, title: None, published_at: None, entity_ids: vec![] }).collect();
        let mut shuffled = docs.clone();
        shuffled.rotate_left(rot % docs.len());
        shuffled.reverse();
        let cfg = OverlapConfig::default();
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| overlap::run(&docs, &[], &cfg));
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| overlap::run(&shuffled, &[], &cfg));
        prop_assert_eq!(partitions(&one), partitions(&two));
    }

    #[test]
    fn a_unique_document_is_never_a_copy(texts in texts_strategy(), unique in prop::collection::vec("[a-z]{3,9}", 1..80)) {
        let unique_text: String = unique.iter().map(|w| format!("u{w}")).collect::<Vec<_>>().join(" ");
        let mut all: Vec<&str> = texts.iter().map(String::as_str).collect();
        all.push(&unique_text);
        let ids: Vec<String> = (0..all.len()).map(|i| format!("d{i}")).collect();
        let docs: Vec<OverlapDoc> = all.iter().zip(&ids).map(|(t, id)| OverlapDoc { doc_id: id, text: t, title: None, published_at: None, entity_ids: vec![] }).collect();
        let out = overlap::run(&docs, &[], &OverlapConfig::default());
        let last = out.duplicates.last().unwrap();
        prop_assert_eq!(last.relation.as_str(), "unique");
        prop_assert!(last.is_canonical);
        // And no other document points at it.
        prop_assert_eq!(out.duplicates.iter().filter(|d| d.dup_cluster_id == last.dup_cluster_id).count(), 1);
    }

    #[test]
    fn arbitrary_text_never_panics(texts in prop::collection::vec(".{0,200}", 0..6), quotes in prop::collection::vec((0usize..8, ".{0,60}"), 0..6)) {
        let ids: Vec<String> = (0..texts.len()).map(|i| format!("d{i}")).collect();
        let docs: Vec<OverlapDoc> = texts.iter().zip(&ids).map(|(t, id)| OverlapDoc { doc_id: id, text: t, title: Some(t), published_at: Some(0), entity_ids: vec!["e1"] }).collect();
        let qs: Vec<OverlapQuote> = quotes.iter().map(|(d, t)| OverlapQuote { doc: *d, text: t, speaker_entity_id: None }).collect();
        let out = overlap::run(&docs, &qs, &OverlapConfig::default());
        prop_assert_eq!(out.duplicates.len(), docs.len());
        prop_assert_eq!(out.quote_cluster_of.len(), qs.len());
        let n: u64 = out.stories.iter().map(|s| s.n_documents).sum();
        prop_assert_eq!(n as usize, docs.len());
    }
}
