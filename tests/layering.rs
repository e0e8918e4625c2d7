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

/// Where the backend may be named: the database module, the schema planner (which introspects each
/// backend), the error mapping and the command line. Everything else runs its SQL through
/// `db::conn::Conn`, so the same code serves SQLite and PostgreSQL (issue 16). Unit tests may open an
/// in-memory SQLite database to run product functions on.
const BACKEND_AWARE: [&str; 4] = ["db", "meta/upgrade.rs", "error.rs", "main.rs"];

#[test]
fn only_the_database_module_names_a_backend() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("server");
    let mut list = Vec::new();
    rust_files(&root, &mut list);
    let mut bad = Vec::new();
    for f in &list {
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        if BACKEND_AWARE.iter().any(|a| rel == *a || rel.starts_with(&format!("{a}/"))) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let product = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in product.lines().enumerate() {
            // `crate::db::postgres::is_url` (choosing the backend from `P_DB`) is the db module's.
            let code = line.split("//").next().unwrap_or("").replace("db::postgres::", "");
            if code.contains("rusqlite") || code.contains("postgres::") {
                bad.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(list.len() > 80, "the server's files were read ({})", list.len());
    assert!(bad.is_empty(), "code outside db/ naming a database backend:\n{}", bad.join("\n"));
}
