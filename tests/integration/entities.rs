//! Integration tests of the entities stage: the shipped model on CoNLL dev (floor), training
//! determinism, the seed reports (golden mentions and entities) and arbitrary input.

use std::collections::BTreeSet;
use std::path::PathBuf;

use newsmill::entities::tagger::TrainConfig;
use newsmill::entities::{eval_conll, eval_conll_score, link, train, Recognizer};
use newsmill::record::{EntityLabel, Mention};
use proptest::prelude::*;

use crate::util::{corpus, repo_root};

fn models() -> PathBuf {
    repo_root().join("models")
}

fn recognizer() -> Recognizer {
    Recognizer::load(&models()).expect("shipped model loads")
}

/// The shipped tagger on CoNLL-2003 dev stays above a floor just under what it measured
/// (F1 0.9342 overall when the CRF was shipped: PER 0.9663, LOC 0.9591, ORG 0.8752, MISC
/// 0.9040).
#[test]
fn conll_dev_floor() {
    let Some(dir) = corpus("conll2003") else { return };
    let s = eval_conll_score(&recognizer(), &dir.join("eng.testa")).expect("eval");
    eprintln!("{}", s.to_text());
    assert!(s.overall.f1 >= 0.932, "dev F1 fell to {:.4}", s.overall.f1);
    assert!(s.by_label["PER"].f1 >= 0.962);
    assert!(s.by_label["LOC"].f1 >= 0.955);
    assert!(s.by_label["ORG"].f1 >= 0.87);
    assert!(s.by_label["MISC"].f1 >= 0.90);
    assert_eq!(s.overall.gold, 5942);
}

#[test]
fn eval_json_shape() {
    let Some(dir) = corpus("conll2003") else { return };
    let j = eval_conll(&models(), &dir.join("eng.testa"), true).expect("eval");
    let v: serde_json::Value = serde_json::from_str(&j).expect("json");
    for k in ["precision", "recall", "f1"] {
        assert!(v["overall"][k].is_number());
    }
    for l in ["PER", "ORG", "LOC", "MISC"] {
        assert!(v["by_label"][l]["f1"].is_number());
    }
    assert_eq!(v["tokens"], 51362);
    assert!(v["seconds"].as_f64().expect("seconds") > 0.0);
}

/// Training twice with the same seed gives byte-identical models.
#[test]
fn training_is_deterministic() {
    let Some(dir) = corpus("conll2003") else { return };
    let cfg = TrainConfig { epochs: 2, bits: 16, seed: 7, ..TrainConfig::default() };
    let a = train::train_to_bytes(&dir.join("eng.train"), &models(), &cfg, 40).expect("train");
    let b = train::train_to_bytes(&dir.join("eng.train"), &models(), &cfg, 40).expect("train");
    assert!(a.len() > 1000);
    assert!(a == b, "two training runs differ");
}

/// `models/ner.model` is what `make model` trains from CoNLL-2003 eng.train with the code as
/// it stands, so a change to the features or the learner cannot ship without a retrain.
#[test]
fn shipped_ner_model_is_what_training_gives() {
    let Some(dir) = corpus("conll2003") else { return };
    let trained = train::train_to_bytes(&dir.join("eng.train"), &models(), &TrainConfig::default(), usize::MAX).expect("train");
    let shipped = std::fs::read(models().join("ner.model")).expect("shipped model");
    assert!(trained == shipped, "models/ner.model differs from what `make model` gives now: retrain it");
}

fn seeds() -> Option<Vec<(String, String)>> {
    let dir = repo_root().join("..").join("shared").join("seeds");
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(_) => {
            eprintln!("skipping: seeds not found at {}", dir.display());
            return None;
        }
    };
    let mut v: Vec<(String, String)> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap_or_default()))
        .collect();
    v.sort();
    Some(v)
}

/// The seed reports: the bar of the entities issue, then a golden listing of every mention
/// and entity (`NEWSMILL_BLESS=1 cargo test --release entities` rewrites it after a
/// deliberate change; review the diff).
#[test]
fn seeds_golden() {
    let Some(seeds) = seeds() else { return };
    let rec = recognizer();
    let mentions: Vec<Vec<Mention>> = seeds.iter().map(|(_, t)| rec.extract(t)).collect();
    let docs: Vec<(&str, &[Mention])> = seeds.iter().zip(&mentions).map(|((_, t), m)| (t.as_str(), m.as_slice())).collect();
    let linked = link(&docs);

    let surf = |d: usize, m: &Mention| docs[d].0[m.span.start..m.span.end].to_string();
    let mut found: BTreeSet<(String, EntityLabel)> = BTreeSet::new();
    for (d, ms) in mentions.iter().enumerate() {
        for m in ms {
            found.insert((surf(d, m), m.label));
        }
    }
    use EntityLabel::*;
    let expected = [
        ("Donald Trump", Person), ("Trump", Person), ("Volodymyr Zelensky", Person), ("Zelensky", Person),
        ("Volodymyr Zelenskyy", Person), ("Zelenskyy", Person), ("Vladimir Putin", Person), ("Putin", Person),
        ("Keir Starmer", Person), ("Emmanuel Macron", Person), ("Giorgia Meloni", Person), ("Friedrich Merz", Person),
        ("Alexander Stubb", Person), ("Mark Rutte", Person), ("Ursula von der Leyen", Person), ("Steve Witkoff", Person),
        ("Karoline Leavitt", Person), ("Jens Stoltenberg", Person), ("Alexus Grynkewich", Person),
        ("NATO", Org), ("White House", Org), ("Pentagon", Org), ("Fox News", Org), ("European Commission", Org),
        ("Kremlin", Org), ("EU", Org), ("U.S. Air Force", Org), ("The Wall Street Journal", Org), ("Truth Social", Org),
        ("U.S.", Gpe), ("United States", Gpe), ("America", Gpe), ("Ukraine", Gpe), ("Russia", Gpe), ("Washington", Gpe),
        ("Kyiv", Gpe), ("Moscow", Gpe), ("Alaska", Gpe), ("Crimea", Gpe), ("Budapest", Gpe), ("Germany", Gpe),
        ("France", Gpe), ("Britain", Gpe), ("Poland", Gpe), ("Italy", Gpe), ("Finland", Gpe), ("U.K.", Gpe),
        ("Europe", Loc), ("Davis-Monthan Air Force Base", Loc), ("Ukrainian", Norp), ("Russian", Norp), ("European", Norp), ("American", Norp),
        ("August 18", Date), ("February 2022", Date), ("2014", Date), ("$90 billion", Money),
        ("25,000 to 30,000", Cardinal), ("600 miles", Quantity),
    ];
    let missing: Vec<_> = expected.iter().filter(|(s, l)| !found.contains(&(s.to_string(), *l))).collect();
    assert!(missing.is_empty(), "missing mentions: {missing:?}");
    for (s, _) in &found {
        for bad in ["Meanwhile", "Despite", "However", "You", "We", "Look", "Follow"] {
            assert_ne!(s, bad, "{bad} became an entity");
        }
        assert!(!s.contains('“') && !s.contains('”'), "quote fragment {s:?} became an entity");
    }
    // one canonical entity each
    let entity_of = |surface: &str| -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for (d, ms) in mentions.iter().enumerate() {
            for (k, m) in ms.iter().enumerate() {
                if surf(d, m) == surface {
                    if let Some(id) = &linked.mention_entity[d][k] {
                        ids.insert(id.clone());
                    }
                }
            }
        }
        ids
    };
    let one = |group: &[&str]| {
        let ids: BTreeSet<String> = group.iter().flat_map(|s| entity_of(s)).collect();
        assert_eq!(ids.len(), 1, "{group:?} should be one entity, got {ids:?}");
    };
    one(&["Zelensky", "Zelenskyy", "Volodymyr Zelensky", "Volodymyr Zelenskyy"]);
    one(&["Trump", "Donald Trump"]);
    one(&["U.S.", "United States", "America"]);
    one(&["Putin", "Vladimir Putin"]);
    // titles are kept apart from names
    let leavitt = mentions.iter().flatten().find(|m| m.title.as_deref() == Some("White House Press Secretary"));
    assert!(leavitt.is_some(), "title of Karoline Leavitt not found");

    // golden listing
    let mut listing = String::new();
    for (d, ms) in mentions.iter().enumerate() {
        for (k, m) in ms.iter().enumerate() {
            listing += &format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                seeds[d].0,
                m.span.start,
                surf(d, m),
                m.label.as_str(),
                m.method.as_str(),
                m.title.as_deref().unwrap_or(""),
                linked.mention_entity[d][k].as_deref().unwrap_or("")
            );
        }
    }
    for e in &linked.entities {
        listing += &format!("entity\t{}\t{}\t{}\t{}\t{}\t{}\n", e.entity_id, e.label.as_str(), e.name, e.aliases.join("|"), e.n_mentions, e.n_documents);
    }
    let golden = repo_root().join("tests").join("integration").join("golden").join("entities_seeds.tsv");
    if std::env::var_os("NEWSMILL_BLESS").is_some() || !golden.exists() {
        std::fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir");
        std::fs::write(&golden, &listing).expect("write golden");
        eprintln!("wrote {}", golden.display());
        return;
    }
    let want = std::fs::read_to_string(&golden).expect("golden");
    if want != listing {
        let w: BTreeSet<&str> = want.lines().collect();
        let g: BTreeSet<&str> = listing.lines().collect();
        let gone: Vec<_> = w.difference(&g).take(20).collect();
        let new: Vec<_> = g.difference(&w).take(20).collect();
        panic!("seed mentions differ from {}:\n  missing: {gone:#?}\n  new: {new:#?}", golden.display());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Arbitrary text never panics, and every mention lies inside the text on char
    /// boundaries, sorted and non-overlapping.
    #[test]
    fn arbitrary_text_never_panics(text in "(?s)(\\PC|[ \\n.’‘“”—–'\"$%A-Z0-9-]){0,300}") {
        let rec = shared_recognizer();
        let ms = rec.extract(&text);
        let mut last = 0;
        for m in &ms {
            prop_assert!(m.span.start < m.span.end && m.span.end <= text.len());
            prop_assert!(text.is_char_boundary(m.span.start) && text.is_char_boundary(m.span.end));
            prop_assert!(m.span.start >= last);
            last = m.span.end;
        }
        let docs = [(text.as_str(), ms.as_slice())];
        let l = link(&docs);
        prop_assert_eq!(l.mention_entity[0].len(), ms.len());
    }
}

fn shared_recognizer() -> &'static Recognizer {
    static R: std::sync::OnceLock<Recognizer> = std::sync::OnceLock::new();
    R.get_or_init(recognizer)
}
