//! The library's public surface is an API: `tests/public-api.txt` lists every item a user of the
//! crate can name (with its signature), and this test fails on any change to the surface that is
//! not also made there, and on a surface of more than [`MAX_ITEMS`] items.
//!
//! The list comes from a `syn` walk of `src/` as rustc sees it with the default features: from
//! `src/lib.rs`, through `pub mod` and `pub use`, to every `pub` item, its `pub` fields and
//! variants and its inherent `pub` methods. `#[cfg(test)]` code and `pub` items inside private
//! modules are not reachable, so they are not listed. When the change is meant, rewrite the list
//! with `XINVOKE_PUBLIC_API=write cargo test --test it public_api` and commit it.

use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::{Attribute, Item, UseTree, Visibility};

/// At most this many items (fields and variants are parts of their type, not items).
const MAX_ITEMS: usize = 150;
const LIST: &str = "tests/public-api.txt";

/// One module of the crate: its items as written, and its parent's path.
struct Module {
    items: Vec<Item>,
}

/// Every module of the crate by path (`["domain", "retry"]`), read from `src/`.
struct Crate {
    modules: BTreeMap<Vec<String>, Module>,
}

/// Code compiled out of the library as the default build sees it: `#[cfg(test)]`, and any
/// `cfg` naming a feature that is not on by default.
fn compiled_out(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        if !a.path().is_ident("cfg") {
            return false;
        }
        let text = a.meta.to_token_stream().to_string();
        let default_features = ["cli", "aws-profiles"];
        text.contains("test")
            || (text.contains("feature") && !default_features.iter().any(|f| text.contains(&format!("\"{f}\""))))
            || text.contains("not (feature")
    })
}

fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s), ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

impl Crate {
    fn read(root: &Path) -> Crate {
        let mut c = Crate {
            modules: BTreeMap::new(),
        };
        c.read_file(&root.join("src/lib.rs"), root.join("src"), Vec::new());
        c
    }

    /// Read a module's file; `dir` is where its `mod x;` children live.
    fn read_file(&mut self, file: &Path, dir: PathBuf, path: Vec<String>) {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        self.add(parsed.items, &dir, path);
    }

    fn add(&mut self, items: Vec<Item>, dir: &Path, path: Vec<String>) {
        let items: Vec<Item> = items.into_iter().filter(|i| !compiled_out(attrs(i))).collect();
        for item in &items {
            let Item::Mod(m) = item else { continue };
            let name = m.ident.to_string();
            let mut child = path.clone();
            child.push(name.clone());
            match &m.content {
                Some((_, inline)) => self.add(inline.clone(), &dir.join(&name), child),
                None => {
                    let file = match path_attr(&m.attrs) {
                        Some(p) => dir.join(p),
                        None if dir.join(format!("{name}.rs")).is_file() => dir.join(format!("{name}.rs")),
                        None => dir.join(&name).join("mod.rs"),
                    };
                    self.read_file(&file, dir.join(&name), child);
                }
            }
        }
        self.modules.insert(path, Module { items });
    }

    /// Inherent `impl` blocks of a type named `name`, wherever they are.
    fn inherent_impls<'a>(&'a self, name: &str) -> Vec<&'a syn::ItemImpl> {
        let mut out = Vec::new();
        for m in self.modules.values() {
            for item in &m.items {
                if let Item::Impl(i) = item {
                    if i.trait_.is_none() && last_ident(&i.self_ty).as_deref() == Some(name) {
                        out.push(i);
                    }
                }
            }
        }
        out
    }
}

fn attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn is_pub(v: &Visibility) -> bool {
    matches!(v, Visibility::Public(_))
}

fn tokens(t: &impl ToTokens) -> String {
    t.to_token_stream().to_string()
}

/// The surface: one line per item, field and variant.
struct Surface<'c> {
    krate: &'c Crate,
    lines: BTreeSet<String>,
    seen_modules: BTreeSet<Vec<String>>,
}

impl Surface<'_> {
    /// Everything public in module `module`, named under `public` (its public path).
    fn module(&mut self, module: &[String], public: &str) {
        if !self.seen_modules.insert(module.to_vec()) {
            return;
        }
        let Some(m) = self.krate.modules.get(module) else {
            panic!("no module {module:?}")
        };
        for item in &m.items {
            match item {
                Item::Use(u) if is_pub(&u.vis) => {
                    let mut leaves = Vec::new();
                    use_leaves(&u.tree, Vec::new(), &mut leaves);
                    for (path, rename) in leaves {
                        self.reexport(module, public, &path, rename.as_deref());
                    }
                }
                _ => self.item(item, module, public, None),
            }
        }
    }

    /// A `pub use` of `path` (as written in `module`), named `rename` or its last segment.
    fn reexport(&mut self, module: &[String], public: &str, path: &[String], rename: Option<&str>) {
        let Some((target_module, name)) = resolve(self.krate, module, path) else {
            // Another crate's item: the re-export itself is the surface.
            let shown = rename.map(|r| format!(" as {r}")).unwrap_or_default();
            self.lines
                .insert(format!("pub use {public}::{{{}{shown}}}", path.join("::")));
            return;
        };
        let target = &self.krate.modules[&target_module];
        if name == "*" {
            for item in &target.items {
                self.item(item, &target_module, public, None);
            }
            return;
        }
        let mut found = false;
        for item in &target.items {
            if item_name(item).as_deref() == Some(name.as_str()) {
                found = true;
                self.item_any_vis(item, &target_module, public, rename);
            }
            if let Item::Use(u) = item {
                let mut leaves = Vec::new();
                use_leaves(&u.tree, Vec::new(), &mut leaves);
                for (p, r) in leaves {
                    let leaf = r.clone().unwrap_or_else(|| p.last().cloned().unwrap_or_default());
                    if leaf == name {
                        found = true;
                        self.reexport(&target_module, public, &p, rename.or(Some(name.as_str())));
                    }
                }
            }
        }
        assert!(found, "pub use {} in {module:?}: nothing named {name}", path.join("::"));
    }

    fn item(&mut self, item: &Item, module: &[String], public: &str, rename: Option<&str>) {
        let vis = match item {
            Item::Const(i) => &i.vis,
            Item::Enum(i) => &i.vis,
            Item::Fn(i) => &i.vis,
            Item::Mod(i) => &i.vis,
            Item::Static(i) => &i.vis,
            Item::Struct(i) => &i.vis,
            Item::Trait(i) => &i.vis,
            Item::Type(i) => &i.vis,
            Item::Union(i) => &i.vis,
            Item::Macro(m) => {
                if m.attrs.iter().any(|a| a.path().is_ident("macro_export")) {
                    self.lines
                        .insert(format!("macro xinvoke::{}", m.ident.as_ref().unwrap()));
                }
                return;
            }
            _ => return,
        };
        if is_pub(vis) {
            self.item_any_vis(item, module, public, rename);
        }
    }

    /// An item known to be reachable (declared `pub`, or re-exported).
    fn item_any_vis(&mut self, item: &Item, module: &[String], public: &str, rename: Option<&str>) {
        let name = rename
            .map(str::to_string)
            .or_else(|| item_name(item))
            .unwrap_or_default();
        let at = format!("{public}::{name}");
        match item {
            Item::Mod(m) => {
                self.lines.insert(format!("mod {at}"));
                let mut child = module.to_vec();
                child.push(m.ident.to_string());
                self.module(&child, &at);
            }
            Item::Fn(f) => {
                self.lines.insert(format!("fn {at}: {}", tokens(&f.sig)));
            }
            Item::Const(c) => {
                self.lines.insert(format!("const {at}: {}", tokens(&c.ty)));
            }
            Item::Static(s) => {
                self.lines.insert(format!("static {at}: {}", tokens(&s.ty)));
            }
            Item::Type(t) => {
                self.lines.insert(format!("type {at} = {}", tokens(&t.ty)));
            }
            Item::Trait(t) => {
                self.lines.insert(format!("trait {at}{}", tokens(&t.generics)));
                for ti in &t.items {
                    let line = match ti {
                        syn::TraitItem::Fn(f) => format!("trait-fn {at}::{}", tokens(&f.sig)),
                        syn::TraitItem::Type(t) => format!("trait-type {at}::{}", t.ident),
                        syn::TraitItem::Const(c) => format!("trait-const {at}::{}", c.ident),
                        _ => continue,
                    };
                    self.lines.insert(line);
                }
            }
            Item::Struct(s) => {
                self.lines.insert(format!("struct {at}{}", tokens(&s.generics)));
                for (i, f) in s.fields.iter().enumerate() {
                    if is_pub(&f.vis) {
                        let field = f.ident.as_ref().map(|i| i.to_string()).unwrap_or(i.to_string());
                        self.lines.insert(format!("field {at}::{field}: {}", tokens(&f.ty)));
                    }
                }
                self.methods(&s.ident.to_string(), &at);
            }
            Item::Enum(e) => {
                self.lines.insert(format!("enum {at}{}", tokens(&e.generics)));
                for v in &e.variants {
                    self.lines
                        .insert(format!("variant {at}::{}{}", v.ident, fields(&v.fields)));
                }
                self.methods(&e.ident.to_string(), &at);
            }
            Item::Union(u) => {
                self.lines.insert(format!("union {at}"));
                self.methods(&u.ident.to_string(), &at);
            }
            _ => {}
        }
    }

    fn methods(&mut self, ty: &str, at: &str) {
        for imp in self.krate.inherent_impls(ty) {
            for ii in &imp.items {
                match ii {
                    syn::ImplItem::Fn(f) if is_pub(&f.vis) && !compiled_out(&f.attrs) => {
                        self.lines.insert(format!("method {at}::{}", tokens(&f.sig)));
                    }
                    syn::ImplItem::Const(c) if is_pub(&c.vis) && !compiled_out(&c.attrs) => {
                        self.lines
                            .insert(format!("assoc-const {at}::{}: {}", c.ident, tokens(&c.ty)));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A variant's fields as `{ name: Type, .. }` or `(Type, ..)`, without attributes or docs.
fn fields(f: &syn::Fields) -> String {
    let list = |named: bool| {
        f.iter()
            .map(|field| match (&field.ident, named) {
                (Some(name), true) => format!("{name}: {}", tokens(&field.ty)),
                _ => tokens(&field.ty),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match f {
        syn::Fields::Named(_) => format!(" {{ {} }}", list(true)),
        syn::Fields::Unnamed(_) => format!("({})", list(false)),
        syn::Fields::Unit => String::new(),
    }
}

fn item_name(item: &Item) -> Option<String> {
    Some(
        match item {
            Item::Const(i) => &i.ident,
            Item::Enum(i) => &i.ident,
            Item::Fn(i) => &i.sig.ident,
            Item::Mod(i) => &i.ident,
            Item::Static(i) => &i.ident,
            Item::Struct(i) => &i.ident,
            Item::Trait(i) => &i.ident,
            Item::Type(i) => &i.ident,
            Item::Union(i) => &i.ident,
            _ => return None,
        }
        .to_string(),
    )
}

/// The paths a `use` tree names, each with its `as` name.
fn use_leaves(tree: &UseTree, prefix: Vec<String>, out: &mut Vec<(Vec<String>, Option<String>)>) {
    match tree {
        UseTree::Path(p) => {
            let mut next = prefix;
            next.push(p.ident.to_string());
            use_leaves(&p.tree, next, out);
        }
        UseTree::Name(n) => {
            let mut path = prefix;
            path.push(n.ident.to_string());
            out.push((path, None));
        }
        UseTree::Rename(r) => {
            let mut path = prefix;
            path.push(r.ident.to_string());
            out.push((path, Some(r.rename.to_string())));
        }
        UseTree::Glob(_) => {
            let mut path = prefix;
            path.push("*".to_string());
            out.push((path, None));
        }
        UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix.clone(), out);
            }
        }
    }
}

/// The module a `use` path leads to and the name it takes there; `None` for another crate's.
fn resolve(krate: &Crate, from: &[String], path: &[String]) -> Option<(Vec<String>, String)> {
    let (name, modules) = path.split_last()?;
    let mut at: Vec<String> = from.to_vec();
    for (i, seg) in modules.iter().enumerate() {
        match seg.as_str() {
            "crate" if i == 0 => at.clear(),
            "self" if i == 0 => {}
            "super" => {
                at.pop();
            }
            _ => {
                let mut next = at.clone();
                next.push(seg.clone());
                if !krate.modules.contains_key(&next) {
                    return None;
                }
                at = next;
            }
        }
    }
    krate.modules.contains_key(&at).then(|| (at, name.clone()))
}

/// The crate's public surface, one line each, sorted.
fn surface() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let krate = Crate::read(root);
    let mut s = Surface {
        krate: &krate,
        lines: BTreeSet::new(),
        seen_modules: BTreeSet::new(),
    };
    s.module(&[], "xinvoke");
    s.lines.into_iter().collect()
}

/// Items, not counting fields and variants.
fn items(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| !l.starts_with("field ") && !l.starts_with("variant "))
        .count()
}

#[test]
fn the_public_surface_is_the_checked_in_list() {
    let now = surface();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(LIST);
    if std::env::var("XINVOKE_PUBLIC_API").as_deref() == Ok("write") {
        std::fs::write(&path, now.join("\n") + "\n").unwrap();
    }
    let listed: Vec<String> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let added: Vec<&String> = now.iter().filter(|l| !listed.contains(l)).collect();
    let removed: Vec<&String> = listed.iter().filter(|l| !now.contains(l)).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "the public surface differs from {LIST}:\nnew or changed:\n  {}\ngone or changed:\n  {}\n\
         if the change is meant, rewrite the list: XINVOKE_PUBLIC_API=write cargo test --test it public_api",
        added.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
        removed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
    );
}

#[test]
fn the_public_surface_is_small() {
    let now = surface();
    let n = items(&now);
    assert!(
        n <= MAX_ITEMS,
        "{n} public items, at most {MAX_ITEMS}: keep the rest pub(crate)"
    );
    // The walk sees through `pub use`: the entry points the binaries use are there.
    assert!(now.iter().any(|l| l.starts_with("fn xinvoke::")), "{now:?}");
}

#[test]
fn the_walk_finds_pub_items_and_leaves_out_private_modules_and_tests() {
    let krate = Crate {
        modules: BTreeMap::new(),
    };
    let mut c = krate;
    let lib: syn::File = syn::parse_str(
        "pub mod open { pub struct A { pub x: u8, y: u8 } impl A { pub fn new() -> A { todo!() } fn hidden() {} } }
         mod closed { pub struct B; pub fn f() {} }
         pub use closed::f as g;
         #[cfg(test)] pub mod tests { pub fn t() {} }
         pub(crate) fn h() {}",
    )
    .unwrap();
    c.add(lib.items, Path::new("/nonexistent"), Vec::new());
    let mut s = Surface {
        krate: &c,
        lines: BTreeSet::new(),
        seen_modules: BTreeSet::new(),
    };
    s.module(&[], "xinvoke");
    let got: Vec<String> = s.lines.into_iter().collect();
    assert_eq!(
        got,
        [
            "field xinvoke::open::A::x: u8",
            "fn xinvoke::g: fn f ()",
            "method xinvoke::open::A::fn new () -> A",
            "mod xinvoke::open",
            "struct xinvoke::open::A",
        ]
    );
    assert_eq!(items(&got), 4);
}
