//! The whole-run linking stage: mentions of every report become canonical entities.
//!
//! Within a report, "President Donald Trump", "Donald Trump", "Trump" and "Trump’s" are one
//! person (titles and possessives were already kept off the span by recognition). Across
//! reports, transliteration variants of a surname ("Zelensky" / "Zelenskyy" / "Zelenskiy"),
//! alias tables ("U.S." / "United States" / "America" / "US") and acronyms
//! ("European Union" / "EU") merge, while people sharing a surname stay apart when their
//! first names differ. Each entity's id is the xxh3 hash of its canonical key, so the same
//! entity gets the same id in every run.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh3::xxh3_64;

use crate::record::{EntityLabel, Mention};

/// One canonical entity of a run (a row of the `entities` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityRow {
    /// Stable hash of the canonical key.
    pub entity_id: String,
    /// Label of the canonical entity.
    pub label: EntityLabel,
    /// Canonical name.
    pub name: String,
    /// Every surface form seen, sorted.
    pub aliases: Vec<String>,
    /// Number of mentions linked to it.
    pub n_mentions: u64,
    /// Number of documents with at least one such mention.
    pub n_documents: u64,
}

/// The result of linking a run's mentions.
#[derive(Debug, Default, Clone)]
pub struct Linked {
    /// For each input document, for each of its mentions, the entity id (None: not linked).
    pub mention_entity: Vec<Vec<Option<String>>>,
    /// The canonical entities, sorted by entity_id.
    pub entities: Vec<EntityRow>,
}

/// Alias lines (`alias = canonical`), shared with the gazetteer files.
const ALIASES: &str = include_str!("../../models/gazetteer/aliases.txt");

/// Which labels may share an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Group {
    Person,
    Org,
    Place,
    Norp,
    Misc,
}

fn group(l: EntityLabel) -> Option<Group> {
    Some(match l {
        EntityLabel::Person => Group::Person,
        EntityLabel::Org => Group::Org,
        EntityLabel::Gpe | EntityLabel::Loc => Group::Place,
        EntityLabel::Norp => Group::Norp,
        EntityLabel::Misc => Group::Misc,
        _ => return None,
    })
}

/// Lower-case, ASCII-folded (diacritics dropped), apostrophes and dashes unified, single spaces.
pub fn fold(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let c = match c {
            '’' | '‘' | 'ʼ' | '`' => '\'',
            '“' | '”' => '"',
            '–' | '—' | '‐' | '‑' => '-',
            c => c,
        };
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !o.is_empty() {
            o.push(' ');
        }
        space = false;
        for l in c.to_lowercase() {
            o.push(l);
        }
    }
    o
}

/// The key of a surname for fuzzy matching: folded, letters only, doubled letters squashed,
/// and a final "y"/"i" after "k" dropped ("Zelenskyy", "Zelenskiy", "Zelensky" -> "zelensk").
fn surname_key(s: &str) -> String {
    let f = fold(s);
    let mut o = String::with_capacity(f.len());
    for c in f.chars().filter(|c| c.is_alphanumeric()) {
        if o.ends_with(c) {
            continue;
        }
        o.push(c);
    }
    if o.len() > 4 {
        for suf in ["kyi", "kiy", "kyy", "ky", "ki", "kii"] {
            if o.ends_with(suf) {
                o.truncate(o.len() - suf.len());
                o.push('k');
                break;
            }
        }
    }
    o
}

fn strip_the(s: &str) -> &str {
    for p in ["the ", "The ", "THE "] {
        if let Some(r) = s.strip_prefix(p) {
            return r;
        }
    }
    s
}

fn acronym(words: &[&str]) -> Option<String> {
    let sig: Vec<&str> = words.iter().copied().filter(|w| !matches!(w.to_lowercase().as_str(), "of" | "the" | "and" | "for" | "&" | "de" | "in" | "on")).collect();
    if sig.len() < 2 || !sig.iter().all(|w| w.chars().next().is_some_and(|c| c.is_uppercase())) {
        return None;
    }
    Some(sig.iter().filter_map(|w| w.chars().next()).collect::<String>().to_lowercase())
}

fn levenshtein_le1(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}

struct Aliases {
    map: HashMap<String, String>,
}

impl Aliases {
    fn load() -> Aliases {
        let mut map = HashMap::new();
        for line in ALIASES.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if let Some((a, c)) = line.split_once(" = ") {
                map.insert(fold(a.trim()), c.trim().to_string());
                map.insert(fold(c.trim()), c.trim().to_string());
            }
        }
        Aliases { map }
    }
    fn canonical(&self, folded: &str) -> Option<&str> {
        self.map.get(folded).map(|s| s.as_str()).or_else(|| self.map.get(folded.trim_end_matches('.')).map(|s| s.as_str()))
    }
}

/// The distinct name surfaces of a run, each stored once (the linking stage keeps these and
/// small per-document lists, never the documents' texts).
#[derive(Debug, Default)]
pub struct Names {
    ids: HashMap<Box<str>, u32>,
    strs: Vec<Box<str>>,
}

impl Names {
    /// The id of a surface, adding it when new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strs.len() as u32;
        self.strs.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The surface of an id.
    pub fn get(&self, id: u32) -> &str {
        &self.strs[id as usize]
    }
}

/// One document's distinct names to link: (surface id, label, number of mentions), in order
/// of first mention.
pub type DocNames = Vec<(u32, EntityLabel, u32)>;

/// The surface of a mention as linking sees it (single spaces), or None when the mention is
/// not a name to link.
fn name_surface(text: &str, m: &Mention) -> Option<String> {
    group(m.label)?;
    let surface = text.get(m.span.start..m.span.end)?;
    let surface = surface.split_whitespace().collect::<Vec<_>>().join(" ");
    (!surface.is_empty()).then_some(surface)
}

/// A document's distinct names with their surfaces: (surface, label, number of mentions).
pub type LocalNames = Vec<(String, EntityLabel, u32)>;

/// A document's distinct names to link, (surface, label, number of mentions) in order of first
/// mention, and for each mention the index of its name in that list (None: not a name).
pub fn local_names(text: &str, mentions: &[Mention]) -> (LocalNames, Vec<Option<u32>>) {
    let mut out: LocalNames = Vec::new();
    let mut slot: HashMap<(String, EntityLabel), u32> = HashMap::new();
    let slots = mentions
        .iter()
        .map(|m| {
            let s = name_surface(text, m)?;
            let k = *slot.entry((s.clone(), m.label)).or_insert_with(|| {
                out.push((s, m.label, 0));
                (out.len() - 1) as u32
            });
            out[k as usize].2 += 1;
            Some(k)
        })
        .collect();
    (out, slots)
}

/// The run-wide form of [`local_names`]: surfaces replaced by their ids in `names`.
pub fn intern_names(local: &LocalNames, names: &mut Names) -> DocNames {
    local.iter().map(|(s, l, c)| (names.intern(s), *l, *c)).collect()
}

/// The result of [`link_names`].
#[derive(Debug, Default, Clone)]
pub struct LinkedNames {
    /// For each document, for each of its names, the index of its entity in `entities`
    /// (`NONE` when not linked), all documents in one array: document `d`'s names are
    /// `name_entity[name_start[d]..name_start[d + 1]]`.
    name_entity: Vec<u32>,
    name_start: Vec<usize>,
    /// The canonical entities, sorted by entity_id.
    pub entities: Vec<EntityRow>,
}

const NONE: u32 = u32::MAX;

impl LinkedNames {
    /// No entities: `names_per_doc[d]` names of document `d`, none linked.
    pub fn unlinked(names_per_doc: impl IntoIterator<Item = usize>) -> LinkedNames {
        let mut name_start = vec![0];
        let mut n = 0;
        for k in names_per_doc {
            n += k;
            name_start.push(n);
        }
        LinkedNames { name_entity: vec![NONE; n], name_start, entities: Vec::new() }
    }

    /// The entity id of name `slot` of document `doc`, when it was linked.
    pub fn entity_id(&self, doc: usize, slot: u32) -> Option<&str> {
        let e = self.entity_index(doc, slot)?;
        Some(self.entities[e as usize].entity_id.as_str())
    }

    /// The index into `entities` of name `slot` of document `doc`, when it was linked.
    pub fn entity_index(&self, doc: usize, slot: u32) -> Option<u32> {
        let (a, b) = (*self.name_start.get(doc)?, *self.name_start.get(doc + 1)?);
        let e = *self.name_entity[a..b].get(slot as usize)?;
        (e != NONE).then_some(e)
    }
}

/// Links the mentions of every document of a run into canonical entities.
/// `docs[i]` is (document text, its mentions).
pub fn link(docs: &[(&str, &[Mention])]) -> Linked {
    let mut names = Names::default();
    let mut slots = Vec::with_capacity(docs.len());
    let mut lists = Vec::with_capacity(docs.len());
    for (text, mentions) in docs {
        let (local, s) = local_names(text, mentions);
        lists.push(intern_names(&local, &mut names));
        slots.push(s);
    }
    let l = link_names(&lists, &names);
    let mention_entity = slots
        .iter()
        .enumerate()
        .map(|(d, s)| s.iter().map(|k| k.and_then(|k| l.entity_id(d, k)).map(str::to_string)).collect())
        .collect();
    Linked { mention_entity, entities: l.entities }
}

/// Links the distinct names of every document of a run into canonical entities.
///
/// Everything that depends only on a name (its surname key, its acronym, its alias) is worked
/// out once per distinct (surface, label) of the run; only a lone surname needs its document
/// (the person of that surname named in full there). Memory is the run's distinct names plus
/// a few bytes per document name.
pub fn link_names<D: std::borrow::Borrow<DocNames>>(docs: &[D], names: &Names) -> LinkedNames {
    let aliases = Aliases::load();
    // The distinct (surface, label) pairs of the run, in order of first appearance.
    struct P<'a> {
        surface: &'a str,
        label: EntityLabel,
        group: Group,
    }
    let mut pair_of: HashMap<(u32, EntityLabel), u32> = HashMap::new();
    let mut pairs: Vec<P> = Vec::new();
    let slot_pair: Vec<Vec<u32>> = docs
        .iter()
        .map(|l| {
            l.borrow()
                .iter()
                .map(|&(sid, label, _)| {
                    let Some(g) = group(label) else { return u32::MAX };
                    *pair_of.entry((sid, label)).or_insert_with(|| {
                        pairs.push(P { surface: names.get(sid), label, group: g });
                        (pairs.len() - 1) as u32
                    })
                })
                .collect()
        })
        .collect();
    drop(pair_of);
    // A lone word typed as a place, organisation or other name that is the surname of a
    // person named in full somewhere in the run is that person ("Putin" tagged GPE).
    let full_surnames: BTreeSet<String> = pairs
        .iter()
        .filter(|m| m.group == Group::Person && m.surface.contains(' '))
        .filter_map(|m| m.surface.rsplit(' ').next().map(surname_key))
        .collect();
    for m in pairs.iter_mut() {
        if m.group != Group::Person && !m.surface.contains(' ') && m.surface.chars().skip(1).any(|c| c.is_lowercase()) && full_surnames.contains(&surname_key(m.surface)) {
            m.group = Group::Person;
        }
    }
    drop(full_surnames);
    // key of each name (interned: many names share a key)
    let mut key_ids: HashMap<String, u32> = HashMap::new();
    let mut key_strs: Vec<String> = Vec::new();
    let mut intern_key = |k: String| -> u32 {
        if let Some(&id) = key_ids.get(&k) {
            return id;
        }
        key_strs.push(k.clone());
        key_ids.insert(k, (key_strs.len() - 1) as u32);
        (key_strs.len() - 1) as u32
    };
    // Per pair: its key, or (persons named by surname alone) u32::MAX, resolved per document.
    let mut pair_key: Vec<u32> = vec![u32::MAX; pairs.len()];

    // --- persons ---
    // surname clusters across the run
    let words_of = |s: &str| -> Vec<String> { s.split([' ', '-']).filter(|w| !w.is_empty()).map(|w| w.to_string()).collect() };
    let mut surname_keys: BTreeSet<String> = BTreeSet::new();
    for p in pairs.iter().filter(|p| p.group == Group::Person) {
        if let Some(last) = words_of(p.surface).last() {
            surname_keys.insert(surname_key(last));
        }
    }
    // union near-identical surname keys (edit distance 1, long names, same first letter)
    let sk: Vec<String> = surname_keys.into_iter().collect();
    let mut rep: HashMap<String, String> = sk.iter().map(|k| (k.clone(), k.clone())).collect();
    let mut by_prefix: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for k in &sk {
        by_prefix.entry(k.chars().take(3).collect()).or_default().push(k);
    }
    for group_keys in by_prefix.values() {
        for (a_i, a) in group_keys.iter().enumerate() {
            for b in &group_keys[a_i + 1..] {
                if a.len() >= 6 && b.len() >= 6 && levenshtein_le1(a, b) {
                    let ra = find(&rep, a);
                    let rb = find(&rep, b);
                    if ra != rb {
                        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                        rep.insert(hi, lo);
                    }
                }
            }
        }
    }
    drop(by_prefix);
    // per person pair: (surname, first name); None for the other pairs
    let pinfo: Vec<Option<(String, Option<String>)>> = pairs
        .iter()
        .map(|p| {
            if p.group != Group::Person {
                return None;
            }
            let ws = words_of(p.surface);
            let last = ws.last()?;
            let sn = find(&rep, &surname_key(last));
            let first = if ws.len() >= 2 { Some(fold(&ws[0]).trim_end_matches('.').to_string()) } else { None };
            Some((sn, first))
        })
        .collect();
    let info = |pi: u32| pinfo.get(pi as usize).and_then(Option::as_ref);
    drop(rep);
    // first names seen with each surname across the run
    let mut run_firsts: HashMap<&str, BTreeMap<&str, usize>> = HashMap::new();
    for (l, sp) in docs.iter().zip(&slot_pair) {
        for (&(_, _, count), &pi) in l.borrow().iter().zip(sp) {
            if let Some((sn, Some(f))) = info(pi) {
                *run_firsts.entry(sn.as_str()).or_default().entry(f.as_str()).or_insert(0) += count as usize;
            }
        }
    }
    let compatible = |a: &str, b: &str| a == b || (a.len() == 1 && b.starts_with(a)) || (b.len() == 1 && a.starts_with(b));
    let pick = |m: &BTreeMap<&str, usize>| m.iter().filter(|(k, _)| k.len() > 1).max_by_key(|(k, c)| (**c, std::cmp::Reverse(**k))).map(|(k, _)| k.to_string());
    let person_key = |f: Option<&str>, sn: &str| match f {
        // The key carries the first name whenever one is known, so a person keeps one id
        // whether or not a namesake appears in the same run.
        Some(f) => format!("person:{f}|{sn}"),
        None => format!("person:{sn}"),
    };
    for (pi, p) in pinfo.iter().enumerate() {
        if let Some((sn, Some(f))) = p {
            // an initial joins the full first name it abbreviates
            let firsts = run_firsts.get(sn.as_str());
            let chosen = firsts
                .and_then(|m| m.keys().filter(|k| k.len() > 1).find(|d| compatible(f, d) && d.len() >= f.len()).map(|d| d.to_string()))
                .unwrap_or_else(|| f.clone());
            pair_key[pi] = intern_key(person_key(Some(&chosen), sn));
        }
    }

    // --- orgs, places, groups, other names ---
    // acronyms of multi-word orgs seen in the run
    let mut acronyms: HashMap<String, String> = HashMap::new();
    for m in pairs.iter() {
        if m.group == Group::Org || m.group == Group::Place {
            let base = strip_the(m.surface);
            let ws: Vec<&str> = base.split(' ').collect();
            if let Some(a) = acronym(&ws) {
                let canon = aliases.canonical(&fold(base)).map(fold).unwrap_or_else(|| fold(base));
                acronyms.entry(a).or_insert(canon);
            }
        }
    }
    for (i, m) in pairs.iter().enumerate() {
        if m.group == Group::Person {
            continue;
        }
        let base = strip_the(m.surface);
        let f = fold(base);
        let f = f.trim_end_matches("'s").to_string();
        let canon = if let Some(c) = aliases.canonical(&f) {
            fold(c)
        } else {
            let letters: String = f.chars().filter(|c| c.is_alphanumeric()).collect();
            let is_acr = base.chars().filter(|c| c.is_alphabetic()).all(|c| c.is_uppercase()) && (2..=6).contains(&letters.len());
            match (is_acr, acronyms.get(&letters)) {
                (true, Some(full)) => full.clone(),
                _ => f.clone(),
            }
        };
        let g = match m.group {
            Group::Org => "org",
            Group::Place => "place",
            Group::Norp => "norp",
            Group::Misc => "misc",
            Group::Person => "person",
        };
        // orgs and places may be tagged either way ("NATO" as ORG, "America" as LOC): alias
        // canon of a country wins as a place
        let g = if aliases.canonical(&f).is_some() && matches!(m.group, Group::Org | Group::Place) && aliases.is_place(&f) { "place" } else { g };
        pair_key[i] = intern_key(format!("{g}:{canon}"));
    }
    drop(acronyms);

    // --- per document: lone surnames, then the entities' tallies ---
    // Per key: its documents and mentions; per (key, pair): the pair's mentions under that
    // key, from which each entity's labels and surfaces are counted once at the end (a pair
    // is one surface with one label) instead of per document name.
    struct Acc {
        n_docs: u64,
        last_doc: usize,
        n: u64,
    }
    let new_acc = || Acc { n_docs: 0, last_doc: usize::MAX, n: 0 };
    let mut accs: Vec<Acc> = Vec::new();
    let mut tally: super::gazetteer::HashMap64<u64> = Default::default();
    let mut run_pick: HashMap<&str, Option<String>> = HashMap::new();
    let mut slot_key: Vec<Vec<u32>> = Vec::with_capacity(docs.len());
    for (d, (l, sp)) in docs.iter().zip(&slot_pair).enumerate() {
        let l = l.borrow();
        // The first names with each surname in this document, gathered at its first lone
        // surname (most documents have none).
        let mut doc_firsts: Option<HashMap<&str, BTreeMap<&str, usize>>> = None;
        let mut keys = Vec::with_capacity(l.len());
        for (&(_, _, count), &pi) in l.iter().zip(sp) {
            if pi == u32::MAX {
                keys.push(u32::MAX);
                continue;
            }
            let mut k = pair_key[pi as usize];
            if k == u32::MAX {
                let Some((sn, _)) = info(pi) else {
                    keys.push(u32::MAX);
                    continue;
                };
                // lone surname: the person of that surname named in this document, else the
                // only one in the run, else the most mentioned one
                let firsts = doc_firsts.get_or_insert_with(|| {
                    let mut m: HashMap<&str, BTreeMap<&str, usize>> = HashMap::new();
                    for (&(_, _, count), &pi) in l.iter().zip(sp) {
                        if let Some((sn, Some(f))) = info(pi) {
                            *m.entry(sn.as_str()).or_default().entry(f.as_str()).or_insert(0) += count as usize;
                        }
                    }
                    m
                });
                let chosen = firsts.get(sn.as_str()).and_then(pick).or_else(|| {
                    run_pick.entry(sn.as_str()).or_insert_with(|| run_firsts.get(sn.as_str()).and_then(pick)).clone()
                });
                k = intern_key(person_key(chosen.as_deref(), sn));
            }
            if accs.len() <= k as usize {
                accs.resize_with(k as usize + 1, new_acc);
            }
            *tally.entry((k as u64) << 32 | pi as u64).or_insert(0) += count as u64;
            let a = &mut accs[k as usize];
            if a.last_doc != d {
                a.last_doc = d;
                a.n_docs += 1;
            }
            a.n += count as u64;
            keys.push(k);
        }
        slot_key.push(keys);
    }
    drop(slot_pair);
    accs.resize_with(key_strs.len(), new_acc);

    // --- assemble ---
    // The (key, pair) tallies in key order: a key's are one run.
    let mut tally: Vec<(u64, u64)> = tally.into_iter().collect();
    tally.sort_unstable();
    let id_of = |k: &str| crate::normalize::hex_id(xxh3_64(k.as_bytes()));
    let mut entities: Vec<(EntityRow, u32)> = accs
        .iter()
        .zip(&key_strs)
        .enumerate()
        .filter(|(_, (a, _))| a.n > 0)
        .map(|(ki, (a, k))| {
            let mut labels: BTreeMap<EntityLabel, usize> = BTreeMap::new();
            let mut surfaces: BTreeMap<&str, usize> = BTreeMap::new();
            let run = tally.partition_point(|x| x.0 >> 32 < ki as u64)..tally.partition_point(|x| x.0 >> 32 <= ki as u64);
            for &(kp, count) in &tally[run] {
                let p = &pairs[(kp & 0xffff_ffff) as usize];
                *labels.entry(p.label).or_insert(0) += count as usize;
                *surfaces.entry(p.surface).or_insert(0) += count as usize;
            }
            let label = labels.iter().max_by_key(|(l, c)| (**c, std::cmp::Reverse(**l))).map(|(l, _)| *l).unwrap_or(EntityLabel::Misc);
            let name = canonical_name(k, surfaces.iter().map(|(s, c)| (*s, *c)), &aliases);
            let row = EntityRow {
                entity_id: id_of(k),
                label,
                name,
                aliases: surfaces.keys().map(|s| s.to_string()).collect(),
                n_mentions: a.n,
                n_documents: a.n_docs,
            };
            (row, ki as u32)
        })
        .collect();
    entities.sort_by(|a, b| a.0.entity_id.cmp(&b.0.entity_id));
    let mut index_of_key = vec![u32::MAX; key_strs.len()];
    for (pos, (_, ki)) in entities.iter().enumerate() {
        index_of_key[*ki as usize] = pos as u32;
    }
    let mut name_start = Vec::with_capacity(slot_key.len() + 1);
    name_start.push(0);
    let mut name_entity = Vec::with_capacity(slot_key.iter().map(Vec::len).sum());
    for keys in slot_key {
        // a key left out of `entities` maps to NONE through `index_of_key` as well
        name_entity.extend(keys.into_iter().map(|k| if k == u32::MAX { NONE } else { index_of_key[k as usize] }));
        name_start.push(name_entity.len());
    }
    LinkedNames { name_entity, name_start, entities: entities.into_iter().map(|(e, _)| e).collect() }
}

fn find(rep: &HashMap<String, String>, k: &str) -> String {
    let mut cur = k.to_string();
    for _ in 0..64 {
        match rep.get(&cur) {
            Some(p) if *p != cur => cur = p.clone(),
            _ => break,
        }
    }
    cur
}

impl Aliases {
    fn is_place(&self, folded: &str) -> bool {
        // the alias file lists places first, then organisations after a "# organisations" line
        PLACE_ALIASES.with(|p| p.contains(folded))
    }
}

thread_local! {
    static PLACE_ALIASES: std::collections::HashSet<String> = {
        let mut set = std::collections::HashSet::new();
        for line in ALIASES.lines() {
            if line.trim_start().starts_with("# organisations") {
                break;
            }
            let line = line.split('#').next().unwrap_or("").trim();
            if let Some((a, c)) = line.split_once(" = ") {
                set.insert(fold(a.trim()));
                set.insert(fold(c.trim()));
            }
        }
        set
    };
}

/// The canonical name of an entity: the alias table's name when there is one, else the most
/// frequent longest surface (ties: alphabetical).
fn canonical_name<'a>(key: &str, surfaces: impl Iterator<Item = (&'a str, usize)>, aliases: &Aliases) -> String {
    let v: Vec<(&str, usize)> = surfaces.collect();
    if let Some((_, canon)) = key.split_once(':') {
        if let Some(c) = aliases.canonical(canon) {
            return c.to_string();
        }
    }
    // prefer multi-word surfaces (full names), then frequency
    v.iter()
        .max_by_key(|(s, c)| (s.split(' ').count().min(3), *c, std::cmp::Reverse(*s)))
        .map(|(s, _)| strip_the(s).to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Method, Span};

    fn m(text: &str, surface: &str, nth: usize, label: EntityLabel) -> Mention {
        let start = text.match_indices(surface).nth(nth).expect("surface").0;
        Mention { span: Span::new(start, start + surface.len()), label, method: Method::Model, score: 1.0, title: None }
    }

    #[test]
    fn keys() {
        assert_eq!(surname_key("Zelenskyy"), surname_key("Zelensky"));
        assert_eq!(surname_key("Zelenskiy"), surname_key("Zelensky"));
        assert_eq!(fold("Trump’s"), "trump's");
        assert!(levenshtein_le1("zelensk", "zelenski"));
        assert_eq!(acronym(&["European", "Union"]).as_deref(), Some("eu"));
    }

    #[test]
    fn within_and_across_documents() {
        let a = "President Donald Trump met Volodymyr Zelensky. Trump said the U.S. would help.";
        let b = "Zelenskyy thanked the United States and Melania Trump. America and the European Union (EU) agreed.";
        let ma = vec![
            m(a, "Donald Trump", 0, EntityLabel::Person),
            m(a, "Volodymyr Zelensky", 0, EntityLabel::Person),
            m(a, "Trump", 1, EntityLabel::Person),
            m(a, "U.S.", 0, EntityLabel::Gpe),
        ];
        let mb = vec![
            m(b, "Zelenskyy", 0, EntityLabel::Person),
            m(b, "United States", 0, EntityLabel::Gpe),
            m(b, "Melania Trump", 0, EntityLabel::Person),
            m(b, "America", 0, EntityLabel::Loc),
            m(b, "European Union", 0, EntityLabel::Org),
            m(b, "EU", 0, EntityLabel::Org),
        ];
        let l = link(&[(a, &ma), (b, &mb)]);
        let e = &l.mention_entity;
        // Trump within a document
        assert_eq!(e[0][0], e[0][2]);
        // Zelensky across documents
        assert_eq!(e[0][1], e[1][0]);
        // U.S. / United States / America
        assert_eq!(e[0][3], e[1][1]);
        assert_eq!(e[1][1], e[1][3]);
        // different first names stay apart
        assert_ne!(e[0][0], e[1][2]);
        // acronym
        assert_eq!(e[1][4], e[1][5]);
        let us = l.entities.iter().find(|r| Some(&r.entity_id) == e[0][3].as_ref()).expect("entity");
        assert_eq!(us.name, "United States");
        assert_eq!(us.n_documents, 2);
        let z = l.entities.iter().find(|r| Some(&r.entity_id) == e[0][1].as_ref()).expect("entity");
        assert_eq!(z.name, "Volodymyr Zelensky");
        assert_eq!(z.aliases, vec!["Volodymyr Zelensky".to_string(), "Zelenskyy".to_string()]);
        // ids are stable across runs
        let l2 = link(&[(b, &mb), (a, &ma)]);
        assert_eq!(l2.mention_entity[1][1], e[0][1]);
    }
}
