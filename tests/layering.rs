//! The framework does not know the product: no framework folder imports the product's modules or the
//! composition root. A new product module that a framework file reaches for fails here.

use std::path::Path;

/// The framework folders and files of `server/`.
const FRAMEWORK: [&str; 12] =
    ["http", "api", "crud", "query", "meta", "db", "log", "auth", "export", "state.rs", "config.rs", "error.rs"];
/// The product side: what only the composition root (`server/app.rs`) may wire together.
const PRODUCT: [&str; 4] = ["objects", "ticketing", "demo", "app"];

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

#[test]
fn framework_folders_import_nothing_from_the_product() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("server");
    let mut bad = Vec::new();
    let mut files = 0;
    for dir in FRAMEWORK {
        let mut list = Vec::new();
        let path = root.join(dir);
        if path.is_file() {
            list.push(path);
        } else {
            rust_files(&path, &mut list);
        }
        for f in list {
            files += 1;
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for m in PRODUCT {
                    if code.contains(&format!("crate::{m}::")) || code.contains(&format!("crate::{m};")) {
                        bad.push(format!("{}:{}: {}", f.strip_prefix(&root).unwrap().display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(files > 40, "the framework folders were read ({files} files)");
    assert!(bad.is_empty(), "framework code reaching into the product:\n{}", bad.join("\n"));
}
