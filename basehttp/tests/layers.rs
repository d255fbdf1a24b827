//! The runtime's layers stay layered (README, "How it works"): every
//! `crate::…` (and `super::…`) path in `src/` is an import of a module, and
//! the imports must point down only — `protocol` ← `handler` ← `transport`
//! and `simple` — with no cycle between any modules, however long. The
//! README's layer diagram must list exactly the modules each folder holds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first; a module may import its own layer or lower.
/// `simple` and `transport` share a rank but may not import each other.
const LAYERS: [(&str, u8); 5] = [("protocol", 0), ("handler", 1), ("simple", 2), ("transport", 2), ("cgi", 3)];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Module path (`["handler", "request"]`) of every source file but `lib.rs`.
fn modules() -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let mut module = prefix.to_vec();
            if path.is_dir() {
                module.push(name);
                walk(&path, &module, out);
            } else if path.extension().is_some_and(|e| e == "rs") && !(prefix.is_empty() && name == "lib") {
                if name != "mod" {
                    module.push(name);
                }
                out.insert(module, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &[], &mut out);
    out
}

/// The identifier-and-`::` paths that follow `prefix` in `text`, braces
/// expanded one level (`a::{b::C, d}` gives `a::b::C` and `a::d`).
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(ident) {
            continue; // e.g. `mycrate::`
        }
        let end = rest.find(|c: char| !(ident(c) || c == ':')).unwrap_or(rest.len());
        let head: Vec<String> = rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
        if rest[end..].starts_with('{') && rest[..end].ends_with("::") {
            let close = rest[end..].find('}').map_or(rest.len(), |i| end + i);
            for item in rest[end + 1..close].split(',') {
                let mut path = head.clone();
                path.extend(item.trim().split("::").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
                out.push(path);
            }
        } else {
            out.push(head);
        }
    }
    out
}

/// The longest prefix of `path` that names a module.
fn resolve(path: &[String], modules: &BTreeMap<Vec<String>, PathBuf>) -> Option<Vec<String>> {
    (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| modules.contains_key(m))
}

/// Module → the modules it imports (itself excluded). A path that names
/// no module goes through the crate root's re-exports (`crate::Profile`)
/// and hides the real import: it is recorded as an import of `lib`.
fn imports() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = modules();
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        // Comments (docs included) name modules without importing them.
        let text: String = std::fs::read_to_string(file)
            .expect("read module")
            .lines()
            .map(|line| line.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        // Unit tests (`#[cfg(test)] mod tests`, at the end of a file) say
        // `super::` for the file itself.
        let body = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut found = paths_after(&text, "crate::");
        let parent = &module[..module.len() - 1];
        for path in paths_after(body, "super::") {
            found.push(parent.iter().cloned().chain(path).collect());
        }
        let root = vec!["lib".to_owned()];
        let edges: BTreeSet<Vec<String>> = found
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| resolve(p, &modules).unwrap_or_else(|| root.clone()))
            .filter(|m| m != module)
            .collect();
        graph.insert(module.clone(), edges);
    }
    graph
}

fn name(module: &[String]) -> String {
    module.join("::")
}

fn layer(module: &[String]) -> (&'static str, u8) {
    if module == ["lib"] {
        return ("lib", u8::MAX); // the crate root: above every layer
    }
    *LAYERS.iter().find(|(l, _)| module[0] == *l).unwrap_or_else(|| panic!("{} is in no layer", name(module)))
}

#[test]
fn imports_point_down_the_layers() {
    let mut wrong = Vec::new();
    for (from, to) in imports() {
        let (from_layer, from_rank) = layer(&from);
        for target in to {
            let (to_layer, to_rank) = layer(&target);
            if to_rank > from_rank || (to_rank == from_rank && from_layer != to_layer) {
                wrong.push(format!("{} imports {}", name(&from), name(&target)));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

#[test]
fn no_module_import_cycle() {
    let graph = imports();
    // Depth-first search; a back edge closes a cycle.
    fn visit<'a>(
        node: &'a Vec<String>,
        graph: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<&'a Vec<String>, bool>,
        stack: &mut Vec<&'a Vec<String>>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(true) => return None,
            Some(false) => {
                let start = stack.iter().position(|m| *m == node).unwrap();
                return Some(stack[start..].iter().map(|m| name(m)).chain([name(node)]).collect());
            }
            None => {}
        }
        state.insert(node, false);
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state.insert(node, true);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut state, &mut Vec::new()) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_imports_and_cycles() {
    // The parser: plain, grouped and nested paths.
    let paths = paths_after("use crate::a::{b::C, d};\nlet x = crate::e::f(mycrate::g);", "crate::");
    let want: Vec<Vec<&str>> = vec![vec!["a", "b", "C"], vec!["a", "d"], vec!["e", "f"]];
    assert_eq!(paths, want);
    // The graph has the edges the tree is known to have.
    let graph = imports();
    let m = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert!(graph[&m("handler::request")].contains(&m("protocol::headers")));
    assert!(graph[&m("transport::reactor")].contains(&m("transport::poller")));
    assert!(graph[&m("simple::listing")].contains(&m("simple::path")));
}

#[test]
fn the_readme_diagram_lists_every_module() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README");
    let diagram = readme
        .split("<!-- layers -->")
        .nth(1)
        .expect("README has a `<!-- layers -->` diagram")
        .split("```")
        .nth(1)
        .expect("the diagram is a code block");
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in diagram.lines() {
        for (layer, _) in LAYERS {
            let tag = format!("{layer}/ ");
            if let Some(at) = line.find(&tag) {
                let words = line[at + tag.len()..].split_whitespace().map(str::to_owned);
                listed.entry(layer.to_owned()).or_default().extend(words);
            }
        }
    }
    let mut actual: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in modules().keys() {
        if module.len() == 2 {
            actual.entry(module[0].clone()).or_default().insert(module[1].clone());
        }
    }
    assert_eq!(listed, actual, "the README's layer diagram and the modules in src/ differ");
}
