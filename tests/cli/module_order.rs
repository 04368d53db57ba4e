//! The module order: every `crate::` path in `src/` names a module at the same layer or below
//! its own. Layers, bottom first (docs/architecture.md):
//!
//! config/limits/progress/sgemm -> rng -> xbar -> backend -> report, provenance -> cpu, gpu ->
//! nn, data, model_io, select -> train -> chip -> compress, wage -> experiment -> sweep, study,
//! bench -> plot -> cli.
//!
//! The imports that still point up are listed in `KNOWN_UPWARD`; the test fails when a new one
//! appears and when a listed one is gone (so the list only shrinks). The same holds for circles
//! between files (`KNOWN_CIRCLES`) and for files over `MAX_LINES` (`KNOWN_LONG`).

use std::collections::BTreeSet;
use std::path::Path;

const LAYERS: &[&[&str]] = &[
    &["config", "limits", "progress", "sgemm"],
    &["rng"],
    &["xbar"],
    &["backend"],
    &["report", "provenance"],
    &["cpu", "gpu"],
    &["nn", "data", "model_io", "select"],
    &["net"],
    &["train"],
    &["chip"],
    &["compress", "wage"],
    &["experiment"],
    &["sweep", "study", "bench"],
    &["plot"],
    &["cli"],
];

/// Upward imports that remain, as (module, imported module).
const KNOWN_UPWARD: &[(&str, &str)] = &[];

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` has no layer in tests/module_order.rs"))
}

/// The top-level module of a file under `src/` (`src/xbar/read.rs` -> `xbar`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `crate::name` paths in code (comment lines skipped).
fn imported(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn no_new_upward_imports() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = BTreeSet::new();
    let mut new = Vec::new();
    for f in &files {
        let Some(from) = module_of(&src, f) else {
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for to in imported(&text) {
            if to == from || layer(&to) <= layer(&from) {
                continue;
            }
            upward.insert((from.clone(), to.clone()));
            if !KNOWN_UPWARD.contains(&(from.as_str(), to.as_str())) {
                new.push(format!("{} imports crate::{to}", f.display()));
            }
        }
    }
    assert!(
        new.is_empty(),
        "imports that point up the module order:\n{}",
        new.join("\n")
    );
    let gone: Vec<_> = KNOWN_UPWARD
        .iter()
        .filter(|(a, b)| !upward.contains(&(a.to_string(), b.to_string())))
        .collect();
    assert!(
        gone.is_empty(),
        "no longer imported, remove from KNOWN_UPWARD: {gone:?}"
    );
}

#[test]
fn every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(m) = line.trim().strip_prefix("pub mod ") {
            layer(m.trim_end_matches(';'));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Circles between files: file A uses file B when A names an item of B by a path (`use` or in
// code), following `pub use` re-exports to the file that defines the item. A module's
// `pub use` of a child counts only when the module's own code uses the name.

/// Circles among files that remain, each as its files (relative to `src/`, sorted).
const KNOWN_CIRCLES: &[&[&str]] = &[];

type ModPath = Vec<String>;

/// One file's `use` statements and the rest of its code (comments and test modules dropped).
struct FileInfo {
    /// (public re-export, absolute path or `None` outside the crate, alias or `*`).
    uses: Vec<(bool, Option<ModPath>, String)>,
    body: String,
}

struct Crate {
    src: std::path::PathBuf,
    files: std::collections::BTreeMap<ModPath, std::path::PathBuf>,
    infos: std::collections::BTreeMap<ModPath, FileInfo>,
}

/// Source without comment lines, `#[cfg(test)]` modules and `#[cfg(test)]` attributes.
fn code_of(text: &str) -> String {
    let mut s: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    const ATTR: &str = "#[cfg(test)]";
    while let Some(i) = s.find(ATTR) {
        let rest = s[i + ATTR.len()..].trim_start();
        let end = if rest.starts_with("mod ") {
            let (semi, open) = (s[i..].find(';'), s[i..].find('{'));
            match (semi, open) {
                (Some(c), Some(o)) if c < o => i + c + 1,
                (_, Some(o)) => {
                    let mut depth = 0;
                    let mut end = s.len();
                    for (k, ch) in s[i + o..].char_indices() {
                        match ch {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    end = i + o + k + 1;
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    end
                }
                (Some(c), None) => i + c + 1,
                (None, None) => s.len(),
            }
        } else {
            i + ATTR.len()
        };
        s.replace_range(i..end, "");
    }
    s
}

/// Splits at commas outside braces.
fn split_top(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// Flattens a use tree (`a::{b, c::{d as e, self}, *}`) into (path, alias).
fn flatten(prefix: &[String], tree: &str, out: &mut Vec<(Vec<String>, String)>) {
    for item in split_top(tree) {
        if let Some(open) = item.find('{') {
            let head = item[..open].trim_end_matches(':');
            let mut p = prefix.to_vec();
            p.extend(head.split("::").filter(|x| !x.is_empty()).map(String::from));
            let inner = &item[open + 1..item.rfind('}').unwrap_or(item.len())];
            flatten(&p, inner, out);
            continue;
        }
        let (path, alias) = match item.split_once(" as ") {
            Some((p, a)) => (p.trim(), Some(a.trim().to_string())),
            None => (item, None),
        };
        let mut p = prefix.to_vec();
        p.extend(path.split("::").map(|x| x.trim().to_string()));
        if p.last().is_some_and(|l| l == "self") {
            p.pop();
        }
        let alias = alias.unwrap_or_else(|| p.last().cloned().unwrap_or_default());
        out.push((p, alias));
    }
}

/// Paths of two or more segments in code (`a::b::c`), as segments.
fn code_paths(body: &str) -> Vec<Vec<String>> {
    let b = body.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = (b[i].is_ascii_alphabetic() || b[i] == b'_')
            && (i == 0 || !(ident(b[i - 1]) || b[i - 1] == b':'));
        if !starts {
            i += 1;
            continue;
        }
        let mut segs = Vec::new();
        loop {
            let s = i;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            segs.push(body[s..i].to_string());
            let more = b.get(i..i + 3).is_some_and(|t| {
                t[0] == b':' && t[1] == b':' && (t[2].is_ascii_alphabetic() || t[2] == b'_')
            });
            if !more {
                break;
            }
            i += 2;
        }
        if segs.len() >= 2 {
            out.push(segs);
        }
    }
    out
}

/// Whether a line declares a child module (`mod name;`, `pub mod name;`, `pub(crate) mod name;`):
/// a declaration names a file, not an item the module's code uses.
fn is_mod_decl(line: &str) -> bool {
    let t = line.trim();
    let t = match t.strip_prefix("pub") {
        Some(r) if r.starts_with('(') => r.find(')').map_or(r, |i| &r[i + 1..]),
        Some(r) => r,
        None => t,
    };
    t.trim_start()
        .strip_prefix("mod ")
        .and_then(|r| r.strip_suffix(';'))
        .is_some_and(|n| {
            n.trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn has_word(text: &str, word: &str) -> bool {
    let b = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    text.match_indices(word).any(|(i, _)| {
        let j = i + word.len();
        (i == 0 || !ident(b[i - 1])) && (j >= b.len() || !ident(b[j]))
    })
}

impl Crate {
    fn load() -> Crate {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        rust_files(&src, &mut all);
        let mut files = std::collections::BTreeMap::new();
        for f in all {
            let rel = f.strip_prefix(&src).unwrap();
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let last = parts.pop().unwrap();
            if parts.is_empty() && (last == "lib.rs" || last == "main.rs") {
                continue;
            }
            if last != "mod.rs" {
                parts.push(last.trim_end_matches(".rs").to_string());
            }
            files.insert(parts, f);
        }
        let mut c = Crate {
            src,
            files,
            infos: Default::default(),
        };
        let mods: Vec<ModPath> = c.files.keys().cloned().collect();
        for m in mods {
            let info = c.parse(&m);
            c.infos.insert(m, info);
        }
        c
    }

    /// `path` as written in module `m`, made absolute (`None`: outside the crate).
    fn absolute(&self, m: &[String], path: &[String]) -> Option<ModPath> {
        let mut cur: Vec<String> = m.to_vec();
        let mut rest = path;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                cur.clear();
                rest = &rest[1..];
            }
            Some("self") => rest = &rest[1..],
            Some("super") => {
                while rest.first().is_some_and(|s| s == "super") {
                    cur.pop()?;
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                let mut child = m.to_vec();
                child.push(first.to_string());
                if !self.files.contains_key(&child) {
                    return None;
                }
            }
            None => return None,
        }
        cur.extend(rest.iter().cloned());
        Some(cur)
    }

    fn parse(&self, m: &[String]) -> FileInfo {
        self.parse_text(m, &std::fs::read_to_string(&self.files[m]).unwrap())
    }

    fn parse_text(&self, m: &[String], text: &str) -> FileInfo {
        let code = code_of(text);
        let mut body = String::new();
        let mut uses = Vec::new();
        let mut rest = code.as_str();
        while !rest.is_empty() {
            let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
            let t = rest.trim_start();
            let vis_use = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
                .iter()
                .find(|p| t.starts_with(**p));
            let Some(prefix) = vis_use else {
                if !is_mod_decl(&rest[..line_end]) {
                    body.push_str(&rest[..line_end]);
                }
                rest = &rest[line_end..];
                continue;
            };
            let start = rest.len() - t.len() + prefix.len();
            let end = rest.find(';').unwrap_or(rest.len());
            let tree: String = rest[start..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let tree = tree.replace(":: ", "::").replace(" ::", "::");
            let mut flat = Vec::new();
            flatten(&[], &tree, &mut flat);
            for (p, alias) in flat {
                uses.push((prefix.starts_with("pub"), self.absolute(m, &p), alias));
            }
            rest = &rest[(end + 1).min(rest.len())..];
        }
        FileInfo { uses, body }
    }

    /// Whether module `m` defines or re-exports `name`.
    fn has(&self, m: &[String], name: &str) -> bool {
        let mut child = m.to_vec();
        child.push(name.to_string());
        if self.files.contains_key(&child) {
            return true;
        }
        let Some(info) = self.infos.get(m) else {
            return false;
        };
        if info.uses.iter().any(|(p, _, a)| *p && a == name) {
            return true;
        }
        let b = &info.body;
        [
            "fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "union ",
        ]
        .iter()
        .any(|k| b.contains(&format!("{k}{name}")) && has_word(b, name))
    }

    /// The file an absolute path's item lives in, following re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<ModPath> {
        let mut m: ModPath = Vec::new();
        for (i, seg) in path.iter().enumerate() {
            let mut next = m.clone();
            next.push(seg.clone());
            if self.files.contains_key(&next) {
                m = next;
                continue;
            }
            if depth > 8 {
                break;
            }
            let info = self.infos.get(&m)?;
            for (public, target, alias) in &info.uses {
                let Some(target) = target.as_ref().filter(|_| *public) else {
                    continue;
                };
                if alias == seg {
                    let mut p = target.clone();
                    p.extend(path[i + 1..].iter().cloned());
                    return self.resolve(&p, depth + 1).or(Some(m));
                }
            }
            let defined = info.body.contains(seg.as_str()) && self.has_own(&m, seg);
            if !defined {
                for (public, target, alias) in &info.uses {
                    let Some(target) = target.as_ref().filter(|_| *public && alias == "*") else {
                        continue;
                    };
                    let mut glob = target.clone();
                    glob.pop(); // the `*`
                    if self.has(&glob, seg) {
                        glob.extend(path[i..].iter().cloned());
                        return self.resolve(&glob, depth + 1);
                    }
                }
            }
            break;
        }
        self.files.contains_key(&m).then_some(m)
    }

    /// Whether module `m`'s own code defines `name`.
    fn has_own(&self, m: &[String], name: &str) -> bool {
        let b = &self.infos[m].body;
        [
            "fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "union ",
        ]
        .iter()
        .any(|k| {
            b.match_indices(&format!("{k}{name}")).any(|(i, s)| {
                let j = i + s.len();
                b.as_bytes()
                    .get(j)
                    .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            })
        })
    }

    /// The files each file uses.
    fn edges(&self) -> std::collections::BTreeMap<ModPath, BTreeSet<ModPath>> {
        let mut out = std::collections::BTreeMap::new();
        for (m, info) in &self.infos {
            let mut to = BTreeSet::new();
            let mut add = |p: &ModPath| {
                if let Some(f) = self.resolve(p, 0) {
                    if &f != m {
                        to.insert(f);
                    }
                }
            };
            for (public, target, alias) in &info.uses {
                let Some(t) = target else { continue };
                let used = !*public || (alias != "*" && has_word(&info.body, alias));
                if used {
                    let mut t = t.clone();
                    if alias == "*" {
                        t.pop();
                    }
                    add(&t);
                }
            }
            for path in code_paths(&info.body) {
                let abs = match info
                    .uses
                    .iter()
                    .find(|(_, t, a)| t.is_some() && *a == path[0])
                {
                    Some((_, Some(t), _)) => {
                        let mut p = t.clone();
                        p.extend(path[1..].iter().cloned());
                        Some(p)
                    }
                    _ => self.absolute(m, &path),
                };
                if let Some(p) = abs {
                    add(&p);
                }
            }
            out.insert(m.clone(), to);
        }
        out
    }

    fn name(&self, m: &ModPath) -> String {
        let f = &self.files[m];
        f.strip_prefix(&self.src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/")
    }
}

/// Strongly connected components with more than one file (Tarjan).
fn circles(edges: &std::collections::BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct State<'a> {
        edges: &'a std::collections::BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: std::collections::BTreeMap<ModPath, (usize, usize)>,
        stack: Vec<ModPath>,
        on: BTreeSet<ModPath>,
        next: usize,
        out: Vec<Vec<ModPath>>,
    }
    fn visit(s: &mut State, v: &ModPath) {
        s.index.insert(v.clone(), (s.next, s.next));
        s.next += 1;
        s.stack.push(v.clone());
        s.on.insert(v.clone());
        for w in s.edges.get(v).cloned().unwrap_or_default() {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let low = s.index[v].1.min(s.index[&w].1);
                s.index.get_mut(v).unwrap().1 = low;
            } else if s.on.contains(&w) {
                let low = s.index[v].1.min(s.index[&w].0);
                s.index.get_mut(v).unwrap().1 = low;
            }
        }
        if s.index[v].0 == s.index[v].1 {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on.remove(&w);
                let done = &w == v;
                comp.push(w);
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: Default::default(),
        stack: Vec::new(),
        on: Default::default(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn no_new_circles_between_files() {
    let c = Crate::load();
    let found: Vec<Vec<String>> = circles(&c.edges())
        .iter()
        .map(|comp| {
            let mut names: Vec<String> = comp.iter().map(|m| c.name(m)).collect();
            names.sort();
            names
        })
        .collect();
    let known: Vec<Vec<String>> = KNOWN_CIRCLES
        .iter()
        .map(|k| {
            let mut v: Vec<String> = k.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        })
        .collect();
    let new: Vec<_> = found.iter().filter(|f| !known.contains(f)).collect();
    assert!(
        new.is_empty(),
        "files that use each other in a circle (break the circle, e.g. move the shared \
         items into a file both use):\n{new:#?}"
    );
    let gone: Vec<_> = known.iter().filter(|k| !found.contains(k)).collect();
    assert!(
        gone.is_empty(),
        "no longer a circle, remove from KNOWN_CIRCLES: {gone:?}"
    );
}

/// A crate of the given files (module path, source).
fn crate_of(sources: &[(&[&str], &str)]) -> Crate {
    let path = |m: &[&str]| -> ModPath { m.iter().map(|s| s.to_string()).collect() };
    let mut c = Crate {
        src: "src".into(),
        files: sources
            .iter()
            .map(|(m, _)| (path(m), format!("src/{}.rs", m.join("/")).into()))
            .collect(),
        infos: Default::default(),
    };
    for (m, text) in sources {
        let info = c.parse_text(&path(m), text);
        c.infos.insert(path(m), info);
    }
    c
}

/// A circle through a re-export is found, and nothing else.
#[test]
fn circle_detection_follows_reexports() {
    let c = crate_of(&[
        (&["a"], "pub mod x;\npub mod y;\npub use x::Thing;\n"),
        (&["a", "x"], "use super::y::helper;\npub struct Thing;\n"),
        (
            &["a", "y"],
            "use crate::a::Thing;\npub fn helper(_: Thing) {}\n",
        ),
        (
            &["b"],
            "pub fn lone() { crate::a::y::helper(crate::a::Thing) }\n",
        ),
    ]);
    let path = |m: &[&str]| -> ModPath { m.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        circles(&c.edges()),
        vec![vec![path(&["a", "x"]), path(&["a", "y"])]]
    );
}

/// A `mod name;` declaration is no use of a re-exported item of the same name.
#[test]
fn module_declarations_are_not_uses() {
    let c = crate_of(&[
        (
            &["a"],
            "pub mod read;\npub use read::read;\npub struct Thing;\n",
        ),
        (
            &["a", "read"],
            "use crate::a::Thing;\npub fn read(_: Thing) {}\n",
        ),
    ]);
    assert!(circles(&c.edges()).is_empty());
    assert!(is_mod_decl("pub(crate) mod x;") && is_mod_decl("mod x_1;"));
    assert!(!is_mod_decl("mod tests {") && !is_mod_decl("pub use x::y;"));
}

// ---------------------------------------------------------------------------------------------

/// The longest a source file may be.
const MAX_LINES: usize = 500;

/// Files over `MAX_LINES` that remain (relative to `src/`).
const KNOWN_LONG: &[&str] = &[];

#[test]
fn no_new_long_files() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut long = BTreeSet::new();
    let mut new = Vec::new();
    for f in &files {
        let lines = std::fs::read_to_string(f).unwrap().lines().count();
        if lines <= MAX_LINES {
            continue;
        }
        let name = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !KNOWN_LONG.contains(&name.as_str()) {
            new.push(format!("src/{name}: {lines} lines"));
        }
        long.insert(name);
    }
    assert!(
        new.is_empty(),
        "files over {MAX_LINES} lines (split them, one concept per file):\n{}",
        new.join("\n")
    );
    let gone: Vec<_> = KNOWN_LONG.iter().filter(|k| !long.contains(**k)).collect();
    assert!(
        gone.is_empty(),
        "no longer over {MAX_LINES} lines, remove from KNOWN_LONG: {gone:?}"
    );
}
