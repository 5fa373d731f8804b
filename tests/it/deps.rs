//! The file-level import graph of `src/` has no cycle: dependencies run one
//! way between files and folders (issue 12, DESIGN's stage order).
//!
//! The graph is read from the source text, not from rustc: every
//! `use crate::…`, `use super::…`, `use self::…` tree and every
//! `crate::a::b` / `super::x` path in code (comments, strings and
//! `#[cfg(test)]` modules left out) names a module path, which resolves to
//! the file that defines it: `crate::a::b` is `src/a/b.rs` or
//! `src/a/b/mod.rs`, or — when `b` is an item — `src/a.rs` or
//! `src/a/mod.rs`, followed through that file's `pub use child::b`
//! re-export to the child that really holds it.
//!
//! What counts as a cycle is checked folder by folder, from `src/` down.
//! At each folder the units are its children — a file, or a whole
//! subfolder taken as one — and the folder's own `mod.rs` (`lib.rs` at the
//! top). A file's reference becomes an edge between the units that hold
//! the two files, if they differ. A folder's `mod.rs` declaring, using or
//! re-exporting its own children is its job, not a dependency: those edges
//! are left out, while a child using its parent's items (`super::Reader`)
//! counts. So `store/tickets.rs → store/mod.rs` is fine, `apply.rs ↔
//! change.rs` is a cycle at the top, and `store/ → apply.rs → store/` is
//! one as well even when the two files involved are deep inside.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path below the crate root: `["store", "tickets"]`.
type ModPath = Vec<String>;

/// One `src/` file: its module path and the text it holds, cleaned.
struct SrcFile {
    rel: String,
    module: ModPath,
    /// True for `mod.rs` and `lib.rs`: the file of a folder module.
    facade: bool,
    /// The file's code with comments, strings and `#[cfg(test)]` modules
    /// blanked out (line breaks kept, so line numbers hold).
    code: String,
}

/// A reference from one file to another, with where it was written.
#[derive(Debug, Clone)]
struct Reference {
    from: String,
    to: String,
    line: usize,
    path: String,
}

// ---------------------------------------------------------------- reading

/// Blanks comments, string and char literals (keeping newlines).
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char, out: &mut String| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
                out.push(' ');
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(b[i], &mut out);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || (next == Some('#') && !prev_is_ident(&b, i)))
            && !prev_is_ident(&b, i)
        {
            // r"…" or r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &b[i..j.min(b.len())] {
                blank(ch, &mut out);
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    blank(b[i], &mut out);
                    i += 1;
                }
                if i < b.len() {
                    blank(b[i], &mut out);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{7f}') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                for _ in i..=j.min(b.len() - 1) {
                    out.push(' ');
                }
                i = j + 1;
            } else if b.get(i + 2) == Some(&'\'') {
                out.push_str("   ");
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Blanks every `#[cfg(test)]` module (attribute through closing brace):
/// test code may reach across its folder to build fixtures.
fn drop_test_modules(code: &str) -> String {
    let mut out: Vec<char> = code.chars().collect();
    let text: String = out.iter().collect();
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]") {
        let start = from + at;
        let after = &text[start + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let is_mod = trimmed.starts_with("mod ") || trimmed.starts_with("pub mod ");
        // Byte offsets equal char offsets only for ASCII; work on chars.
        let cstart = text[..start].chars().count();
        from = start + 1;
        if !is_mod {
            continue;
        }
        // Up to the `{` or `;` that ends the declaration.
        let mut j = cstart;
        while j < out.len() && out[j] != '{' && out[j] != ';' {
            j += 1;
        }
        if j >= out.len() || out[j] == ';' {
            continue;
        }
        let mut depth = 0;
        let mut k = j;
        while k < out.len() {
            match out[k] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            k += 1;
        }
        let last = k.min(out.len() - 1);
        for ch in &mut out[cstart..=last] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    }
    out.into_iter().collect()
}

/// Every `.rs` file under `src/`, but `main.rs` (the binary is its own crate
/// and reaches the library as `postdesk::`).
fn read_src(src: &Path) -> Vec<SrcFile> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(src, &mut paths);
    paths
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel == "main.rs" || rel.starts_with("bin/") {
                return None;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            Some(SrcFile {
                module: module_of(&rel),
                facade: rel == "lib.rs" || rel.ends_with("/mod.rs") || rel == "mod.rs",
                code: drop_test_modules(&strip(&text)),
                rel,
            })
        })
        .collect()
}

/// `store/tickets.rs` → `[store, tickets]`; `store/mod.rs` → `[store]`;
/// `lib.rs` → `[]`.
fn module_of(rel: &str) -> ModPath {
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    let last = parts.pop().unwrap();
    match last.as_str() {
        "lib.rs" | "mod.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_string()),
    }
    parts
}

// ---------------------------------------------------------------- paths

/// Expands a use tree (`a::{b, c::{d as e, self}}`, no `use`, no `;`) into
/// plain paths (`a::b`, `a::c::d`, `a::c`).
fn expand_use(tree: &str) -> Vec<String> {
    // `x as y` → `x@y`, then no whitespace at all.
    let tree = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let tree = tree.replace(" as ", "@").replace(' ', "");
    let mut out = Vec::new();
    expand_into("", &tree, &mut out);
    out
}

fn expand_into(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let join = |p: &str, s: &str| {
        if p.is_empty() {
            s.to_string()
        } else if s == "self" || s.is_empty() {
            p.to_string()
        } else {
            format!("{p}::{s}")
        }
    };
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let base = join(prefix, head);
        // Split `inner` on top-level commas.
        let mut depth = 0;
        let mut start = 0;
        for (i, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    if i > start {
                        expand_into(&base, &inner[start..i], out);
                    }
                    start = i + 1;
                }
                _ => {}
            }
        }
        if inner.len() > start {
            expand_into(&base, &inner[start..], out);
        }
    } else {
        let path = tree.split('@').next().unwrap_or(tree);
        out.push(join(prefix, path));
    }
}

/// Every module path a file's code names, as (line, absolute segments,
/// the text written). Relative paths (`super::`, `self::`) are resolved
/// against the module the text sits in, inline `mod x { … }` included.
fn references(file: &SrcFile) -> Vec<(usize, ModPath, String)> {
    let code = &file.code;
    let mut found = Vec::new();
    // Inline modules: (name, brace depth at which its body opened).
    let mut inline: Vec<(String, i32)> = Vec::new();
    let mut depth = 0i32;
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    let mut line = 1;
    // `w` (ASCII) starts at `i`, and not inside a longer name or path.
    let word_at = |i: usize, w: &str| -> bool {
        chars.len() >= i + w.len()
            && w.chars().zip(&chars[i..]).all(|(a, b)| a == *b)
            && (i == 0
                || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':'))
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
        } else if c == '{' {
            depth += 1;
        } else if c == '}' {
            // The brace that closes an inline module's body.
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth -= 1;
        }
        let here = |inline: &[(String, i32)]| -> ModPath {
            file.module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect()
        };
        if word_at(i, "mod ") {
            // `mod name {` opens an inline module; `mod name;` declares a file.
            let rest: String = chars[i + 4..].iter().take(80).collect();
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let after = rest.trim_start()[name.len()..].trim_start().to_string();
            if after.starts_with('{') {
                inline.push((name, depth + 1));
            }
            i += 4;
            continue;
        }
        if word_at(i, "use ") {
            let mut j = i + 4;
            while j < chars.len() && chars[j] != ';' {
                j += 1;
            }
            let tree: String = chars[i + 4..j].iter().collect();
            let start_line = line;
            for path in expand_use(&tree) {
                if let Some(abs) = absolute(&path, &here(&inline)) {
                    found.push((start_line, abs, format!("use {path}")));
                }
            }
            line += tree.matches('\n').count();
            i = j;
            continue;
        }
        if word_at(i, "crate::") || word_at(i, "super::") || word_at(i, "self::") {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':')
            {
                j += 1;
            }
            let path: String = chars[i..j].iter().collect();
            let path = path.trim_end_matches(':').to_string();
            if let Some(abs) = absolute(&path, &here(&inline)) {
                found.push((line, abs, path));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    found
}

/// `crate::a::b` → `[a, b]`; `super::x` from `[m, n]` → `[m, x]`;
/// `self::y` → `[m, n, y]`. None for paths into other crates.
fn absolute(path: &str, here: &ModPath) -> Option<ModPath> {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    if segs.last() == Some(&"*") {
        segs.pop();
    }
    let mut base: ModPath = match *segs.first()? {
        "crate" => {
            segs.remove(0);
            Vec::new()
        }
        "self" => {
            segs.remove(0);
            here.clone()
        }
        "super" => {
            let mut b = here.clone();
            while segs.first() == Some(&"super") {
                segs.remove(0);
                b.pop()?;
            }
            b
        }
        _ => return None,
    };
    base.extend(segs.iter().map(|s| s.to_string()));
    Some(base)
}

// ---------------------------------------------------------------- graph

/// The module tree: module path → file, and each file's named re-exports
/// (`pub use child::Item` → item name → absolute path).
struct Tree {
    file_of: BTreeMap<ModPath, String>,
    reexports: BTreeMap<String, BTreeMap<String, ModPath>>,
}

impl Tree {
    fn new(files: &[SrcFile]) -> Tree {
        let mut file_of = BTreeMap::new();
        for f in files {
            file_of.insert(f.module.clone(), f.rel.clone());
        }
        let mut reexports: BTreeMap<String, BTreeMap<String, ModPath>> = BTreeMap::new();
        for f in files {
            let code = &f.code;
            let mut from = 0;
            while let Some(at) = code[from..].find("pub use ") {
                let start = from + at + "pub use ".len();
                let end = code[start..].find(';').map_or(code.len(), |e| start + e);
                for path in expand_use(&code[start..end]) {
                    let path = path.trim_start_matches("self::").to_string();
                    let rel = if path.starts_with("crate::") || path.starts_with("super::") {
                        path.clone()
                    } else {
                        format!("self::{path}")
                    };
                    if let Some(abs) = absolute(&rel, &f.module)
                        && let Some(name) = abs.last()
                        && name != "*"
                    {
                        reexports
                            .entry(f.rel.clone())
                            .or_default()
                            .insert(name.clone(), abs.clone());
                    }
                }
                from = end;
            }
        }
        Tree { file_of, reexports }
    }

    /// The file that defines `path`: its longest module prefix, then, when
    /// the next segment is an item that file re-exports, the file behind it.
    fn resolve(&self, path: &ModPath) -> Option<String> {
        self.resolve_depth(path, 0)
    }

    fn resolve_depth(&self, path: &ModPath, hops: usize) -> Option<String> {
        let mut n = path.len();
        while !self.file_of.contains_key(&path[..n]) {
            n = n.checked_sub(1)?;
        }
        let file = self.file_of[&path[..n]].clone();
        if hops < 8
            && let Some(item) = path.get(n)
            && let Some(target) = self.reexports.get(&file).and_then(|r| r.get(item))
            && target != path
        {
            let mut next = target.clone();
            next.extend(path[n + 1..].iter().cloned());
            return self.resolve_depth(&next, hops + 1).or(Some(file));
        }
        Some(file)
    }
}

/// Every file-to-file reference in `src/`.
fn file_references(files: &[SrcFile]) -> Vec<Reference> {
    let tree = Tree::new(files);
    let mut out = Vec::new();
    for f in files {
        for (line, abs, written) in references(f) {
            if let Some(to) = tree.resolve(&abs)
                && to != f.rel
            {
                out.push(Reference {
                    from: f.rel.clone(),
                    to,
                    line,
                    path: written,
                });
            }
        }
    }
    out
}

/// The unit that holds `file` at folder `folder` (`""` is `src/`): the
/// folder's own file (`mod.rs`, `lib.rs`) is `"<folder>/mod.rs"`-like and
/// reported as is; a child file is itself; a deeper file is its subfolder.
fn unit_at(folder: &str, file: &str, files: &BTreeMap<String, bool>) -> Option<String> {
    let inside = if folder.is_empty() {
        file
    } else {
        file.strip_prefix(folder)?.strip_prefix('/')?
    };
    let facade = if folder.is_empty() {
        "lib.rs"
    } else {
        "mod.rs"
    };
    Some(match inside.split_once('/') {
        None if inside == facade => file.to_string(),
        None => file.to_string(),
        Some((sub, _)) => {
            let sub = if folder.is_empty() {
                format!("{sub}/")
            } else {
                format!("{folder}/{sub}/")
            };
            // A folder module whose file sits beside it (`a.rs` + `a/`)
            // is one unit with it.
            let _ = files;
            sub
        }
    })
}

/// A cycle found at one folder: the units in order, and for each step the
/// reference that makes it.
struct Cycle {
    folder: String,
    units: Vec<String>,
    evidence: Vec<Reference>,
}

/// Checks every folder of the tree (see the module doc) and returns the
/// cycles, one per strongly connected set of units.
fn cycles(files: &[SrcFile]) -> Vec<Cycle> {
    let refs = file_references(files);
    let facades: BTreeMap<String, bool> = files.iter().map(|f| (f.rel.clone(), f.facade)).collect();
    let mut folders: BTreeSet<String> = BTreeSet::new();
    folders.insert(String::new());
    for f in files {
        let mut parts: Vec<&str> = f.rel.split('/').collect();
        parts.pop();
        for n in 1..=parts.len() {
            folders.insert(parts[..n].join("/"));
        }
    }
    let mut out = Vec::new();
    for folder in &folders {
        let facade = if folder.is_empty() {
            "lib.rs".to_string()
        } else {
            format!("{folder}/mod.rs")
        };
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut why: BTreeMap<(String, String), Reference> = BTreeMap::new();
        for r in &refs {
            let (Some(a), Some(b)) = (
                unit_at(folder, &r.from, &facades),
                unit_at(folder, &r.to, &facades),
            ) else {
                continue;
            };
            // One unit, or the folder's own file using its children.
            if a == b || a == facade {
                continue;
            }
            graph.entry(a.clone()).or_default().insert(b.clone());
            why.entry((a, b)).or_insert_with(|| r.clone());
        }
        for units in find_cycles(&graph) {
            let evidence = units
                .iter()
                .zip(units.iter().cycle().skip(1))
                .map(|(a, b)| why[&(a.clone(), b.clone())].clone())
                .collect();
            out.push(Cycle {
                folder: folder.clone(),
                units,
                evidence,
            });
        }
    }
    out
}

/// The cycles of a directed graph: for each strongly connected component
/// of more than one node (Tarjan), one closed walk through all its nodes
/// that follows edges, starting at its smallest node. Self-loops are
/// ignored.
fn find_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut nodes: BTreeSet<&String> = graph.keys().collect();
    for targets in graph.values() {
        nodes.extend(targets);
    }
    let nodes: Vec<&String> = nodes.into_iter().collect();
    let index_of: BTreeMap<&String, usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let adj: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            graph
                .get(*n)
                .map(|t| t.iter().map(|x| index_of[x]).collect())
                .unwrap_or_default()
        })
        .collect();

    // Tarjan's algorithm, iterative.
    let n = nodes.len();
    let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut sccs, mut next) = (Vec::new(), Vec::new(), 0);
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut k)) = call.last_mut() {
            if *k < adj[v].len() {
                let w = adj[v][*k];
                *k += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(u, _)) = call.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut scc = Vec::new();
                    loop {
                        let w = stack.pop().unwrap();
                        on_stack[w] = false;
                        scc.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if scc.len() > 1 {
                        sccs.push(scc);
                    }
                }
            }
        }
    }

    // A walk through each component: from its smallest node, repeatedly the
    // shortest path (inside the component) to the nearest unvisited node,
    // back to the start at the end.
    let mut out = Vec::new();
    for scc in sccs {
        let members: BTreeSet<usize> = scc.iter().copied().collect();
        let start = *members.iter().next().unwrap();
        let path_to = |from: usize, goal: &dyn Fn(usize) -> bool| -> Vec<usize> {
            let mut prev = vec![usize::MAX; n];
            let mut queue = std::collections::VecDeque::from([from]);
            prev[from] = from;
            while let Some(v) = queue.pop_front() {
                for &w in &adj[v] {
                    if members.contains(&w) && prev[w] == usize::MAX {
                        prev[w] = v;
                        if goal(w) {
                            let mut path = vec![w];
                            let mut x = w;
                            while prev[x] != from {
                                x = prev[x];
                                path.push(x);
                            }
                            path.reverse();
                            return path;
                        }
                        queue.push_back(w);
                    }
                }
            }
            Vec::new()
        };
        let mut walk = vec![start];
        let mut seen: BTreeSet<usize> = [start].into();
        let mut at = start;
        while seen.len() < members.len() {
            let step = path_to(at, &|w| !seen.contains(&w));
            if step.is_empty() {
                break;
            }
            for &w in &step {
                seen.insert(w);
            }
            at = *step.last().unwrap();
            walk.extend(step);
        }
        let home = path_to(at, &|w| w == start);
        walk.extend(home.iter().take(home.len().saturating_sub(1)));
        out.push(walk.into_iter().map(|i| nodes[i].clone()).collect());
    }
    out
}

// ---------------------------------------------------------------- tests

#[test]
fn src_import_graph_has_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = read_src(&src);
    assert!(files.len() > 10, "only {} files under src/", files.len());
    let refs = file_references(&files);
    assert!(
        refs.iter().any(|r| r.from != "lib.rs"),
        "no import between files found: the reader is broken"
    );
    let found = cycles(&files);
    let mut report = String::new();
    for c in &found {
        let at = if c.folder.is_empty() {
            "src/".to_string()
        } else {
            format!("src/{}/", c.folder)
        };
        let members: BTreeSet<&String> = c.units.iter().collect();
        report.push_str(&format!(
            "\nimport cycle in {at} between {}:\n    {} -> {}\n",
            members.into_iter().cloned().collect::<Vec<_>>().join(", "),
            c.units.join(" -> "),
            c.units[0]
        ));
        for r in &c.evidence {
            report.push_str(&format!(
                "    src/{}:{} {} (-> src/{})\n",
                r.from, r.line, r.path, r.to
            ));
        }
    }
    println!(
        "import graph: {} files, {} references, {} cycles",
        files.len(),
        refs.len(),
        found.len()
    );
    assert!(
        found.is_empty(),
        "dependencies must run one way between files and folders; {} cycle(s):{report}",
        found.len()
    );
}

fn graph(edges: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in edges {
        g.entry(a.to_string()).or_default().insert(b.to_string());
    }
    g
}

#[test]
fn find_cycles_names_the_cycle_of_a_small_graph() {
    // domain <- store <- apply -> change -> relay -> apply, and a tail.
    let g = graph(&[
        ("store", "domain"),
        ("apply", "store"),
        ("apply", "change"),
        ("change", "relay"),
        ("relay", "apply"),
        ("daemon", "apply"),
        ("relay", "relay"),
    ]);
    assert_eq!(
        find_cycles(&g),
        vec![vec![
            "apply".to_string(),
            "change".to_string(),
            "relay".to_string()
        ]]
    );
}

#[test]
fn find_cycles_finds_none_in_a_graph_that_runs_one_way() {
    let g = graph(&[
        ("store", "domain"),
        ("apply", "store"),
        ("apply", "domain"),
        ("change", "store"),
        ("apply", "change"),
        ("daemon", "apply"),
        ("a", "a"),
    ]);
    assert!(find_cycles(&g).is_empty());
}

#[test]
fn find_cycles_walks_every_member_of_a_tangle() {
    // Two loops sharing b: a->b->a and b->c->b.
    let g = graph(&[("a", "b"), ("b", "a"), ("b", "c"), ("c", "b")]);
    let c = find_cycles(&g);
    assert_eq!(c.len(), 1);
    let walk = &c[0];
    assert_eq!(walk[0], "a");
    for n in ["a", "b", "c"] {
        assert!(walk.iter().any(|w| w == n), "{walk:?}");
    }
    // Every step is an edge, the last one back to the start.
    for (x, y) in walk.iter().zip(walk.iter().cycle().skip(1)) {
        assert!(g[x].contains(y), "{x} -> {y} is no edge: {walk:?}");
    }
}

/// A made-up `src/` on disk: the folder rules of the module doc.
#[test]
fn folder_rules_on_a_small_tree() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "lib.rs",
        "pub mod domain;\npub mod store;\npub mod apply;\n",
    );
    write("domain.rs", "pub struct Id;\n");
    // mod.rs re-exports its children, which use the parent's items: fine.
    write(
        "store/mod.rs",
        "mod tickets;\npub use tickets::Ticket;\npub struct Reader;\n",
    );
    write(
        "store/tickets.rs",
        "use super::Reader;\nuse crate::domain::Id;\npub struct Ticket;\n\
         #[cfg(test)]\nmod tests {\n    use crate::apply::Applied;\n}\n",
    );
    write(
        "apply.rs",
        "use crate::store::Ticket;\npub struct Applied;\n// crate::store::x in a comment\n",
    );
    let files = read_src(dir.path());
    let found = cycles(&files);
    assert!(
        found.is_empty(),
        "{:?}",
        found.iter().map(|c| &c.units).collect::<Vec<_>>()
    );
    // apply.rs -> store/tickets.rs through the re-export.
    let refs = file_references(&files);
    assert!(
        refs.iter()
            .any(|r| r.from == "apply.rs" && r.to == "store/tickets.rs"),
        "{refs:?}"
    );

    // The child now uses apply, which uses the child through store's
    // re-export: a cycle between store/ and apply.rs at the top.
    write(
        "store/tickets.rs",
        "use super::Reader;\npub struct Ticket;\npub fn f() { let _ = crate::apply::Applied; }\n",
    );
    let files = read_src(dir.path());
    let found = cycles(&files);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].folder, "");
    assert_eq!(
        found[0].units,
        vec!["apply.rs".to_string(), "store/".into()]
    );
    assert_eq!(found[0].evidence[1].from, "store/tickets.rs");
    assert_eq!(found[0].evidence[1].line, 3);
}

/// `super::` inside an inline module means the file's own module; paths
/// in comments and strings are no references; `use` trees expand.
#[test]
fn reader_details_on_a_small_tree() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("lib.rs", "pub mod source;\npub mod store;\n");
    write("store.rs", "pub struct Store;\n");
    write("source/mod.rs", "pub mod pop3;\npub struct Sink;\n");
    write(
        "source/pop3.rs",
        "pub struct Round;\nmod proto {\n    use super::Round;\n}\n\
         fn f() { let _ = \"crate::source::Sink\"; let _c = '{'; }\n\
         /* use super::Sink; */\n\
         use crate::{store::Store as S, source::{self}};\n",
    );
    let files = read_src(dir.path());
    let refs = file_references(&files);
    let from_pop3: Vec<(&str, usize)> = refs
        .iter()
        .filter(|r| r.from == "source/pop3.rs")
        .map(|r| (r.to.as_str(), r.line))
        .collect();
    assert_eq!(
        from_pop3,
        [("store.rs", 7), ("source/mod.rs", 7)],
        "{refs:?}"
    );
    assert_eq!(
        expand_use("a::{b, c::{d as e, self}, f::*}"),
        ["a::b", "a::c::d", "a::c", "a::f::*"]
    );
}
