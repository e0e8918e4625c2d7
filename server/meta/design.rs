//! The design-file parser: reads the table lines of `design/DESIGN.md` (and the files it includes) into a `Design`.
//!
//! A design document is prose for people with a few machine-read lines (protocol §2.1):
//!
//! - `@Ordr: id, userId, status(2), amount` at column 0 declares a table; fields are split on spaces, `,` and `，`,
//!   and each field's type follows from its name (`types::derive_type`);
//! - `@index Ordr(userId, createTm)` / `@unique Session(tokenHash)` at column 0 declares an index (this project's
//!   addition: the reference tool creates none, but a server that looks up orders by user needs them);
//!   `@index Ordr(showingId, status) sparse` leaves out the rows whose first column is null (a partial index:
//!   an order of no showing costs no entry, and lookups by showing use it as before);
//! - `@include path` pulls in another file, relative to the including file; `*` and `?` may appear in any path
//!   component (`plugin/*/DESIGN.md`);
//! - everything else, including indented lines, `@see @T: ...`, `@ver=N` and code fences, is prose.
//!
//! Errors name the file and line, because the reader who fixes them has the document open, not the code.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};

use super::types::{derive_type, is_word_char, ColType};
use crate::error::ApiError;

/// A column of a design table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column name as declared, tag or suffix removed (`phone(s)` → `phone`).
    pub name: String,
    pub ty: ColType,
}

/// A table declared by a table line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// In declaration order; `U_*` tables start with the implicit `id, tm, updateTm`.
    pub columns: Vec<Column>,
    /// The file holding the (last) definition, as the include path spelled it.
    pub file: PathBuf,
    /// 1-based line of the definition in `file`.
    pub line: usize,
}

impl Table {
    /// The column called exactly `name` (case-sensitive: protocol names are camelCase and matched verbatim).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// An index of a design table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// `ix_{table}_{columns}` or `ux_...` for unique ones: derived, so a declaration maps to one database index.
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub unique: bool,
    /// Rows whose first column is null are not indexed (`sparse`; named `sx_`/`su_`).
    pub sparse: bool,
    pub file: PathBuf,
    pub line: usize,
}

impl Index {
    /// The name the same index has in the other form (sparse or not), which an upgrade replaces.
    pub fn twin_name(&self) -> String {
        let (_, rest) = self.name.split_once('_').unwrap_or(("", &self.name));
        format!("{}_{rest}", prefix(self.unique, !self.sparse))
    }
}

/// The name prefix of an index of this kind.
fn prefix(unique: bool, sparse: bool) -> &'static str {
    match (unique, sparse) {
        (false, false) => "ix",
        (true, false) => "ux",
        (false, true) => "sx",
        (true, true) => "su",
    }
}

/// Every table of a design, the single source of truth for the schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Design {
    /// In order of first definition (a redefinition replaces the table in place).
    pub tables: Vec<Table>,
    /// Declared indexes, in order; each names an existing table and its columns.
    pub indexes: Vec<Index>,
}

/// A design that cannot be loaded: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is the file as a whole (it cannot be read).
    pub line: usize,
    pub msg: String,
}

impl MetaError {
    fn new(file: &Path, line: usize, msg: impl Into<String>) -> Self {
        MetaError { file: file.to_path_buf(), line, msg: msg.into() }
    }
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.msg)
    }
}

impl std::error::Error for MetaError {}

/// A broken design is a server configuration problem, never the caller's.
impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> Self {
        ApiError::server(format!("design: {e}"))
    }
}

/// Columns every `U_*` (user-defined) table gets in front of its declared ones.
const UDT_COLUMNS: [&str; 3] = ["id", "tm", "updateTm"];

impl Design {
    /// The table called exactly `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Reads the design file at `path` and everything it includes.
    pub fn load(path: &Path) -> Result<Design, MetaError> {
        let text = fs::read_to_string(path).map_err(|e| MetaError::new(path, 0, format!("cannot read: {e}")))?;
        Self::parse_str(&text, path)
    }

    /// Parses design text; `origin` is the path the text came from, used to resolve `@include` and in messages.
    pub fn parse_str(text: &str, origin: &Path) -> Result<Design, MetaError> {
        let mut loader = Loader::default();
        loader.seen.insert(identity(origin));
        loader.parse(text, origin)?;
        loader.check_indexes()?;
        Ok(Design { tables: loader.tables, indexes: loader.indexes })
    }
}

/// The state of one load: tables so far and the files already read.
#[derive(Default)]
struct Loader {
    tables: Vec<Table>,
    indexes: Vec<Index>,
    /// Canonical paths of files read; a file is read once, which ends include cycles and makes `@include *.md`
    /// harmless when it matches the including file itself (the reference tool dedupes the same way).
    seen: HashSet<PathBuf>,
}

impl Loader {
    fn parse(&mut self, text: &str, file: &Path) -> Result<(), MetaError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            if let Some((unique, spec)) = index_line(line) {
                self.add_index(unique, spec, file, line_no)?;
            } else if let Some((name, fields)) = table_line(line) {
                self.add_table(name, fields, file, line_no)?;
            } else if let Some(pattern) = include_line(line) {
                self.include(pattern, file, line_no)?;
            }
        }
        Ok(())
    }

    fn add_table(&mut self, name: &str, fields: &str, file: &Path, line: usize) -> Result<(), MetaError> {
        let declared = fields.split(|c: char| c.is_whitespace() || c == ',' || c == '，').filter(|f| !f.is_empty());
        let implicit = if name.starts_with("U_") { &UDT_COLUMNS[..] } else { &[] };
        let mut columns: Vec<Column> = Vec::new();
        for spec in implicit.iter().copied().chain(declared) {
            let (col, ty) = derive_type(spec).map_err(|e| MetaError::new(file, line, format!("@{name}: {e}")))?;
            // SQLite (and MySQL) column names are case-insensitive, so `name, Name` could never be created.
            if columns.iter().any(|c| c.name.eq_ignore_ascii_case(&col)) {
                let hint =
                    if implicit.contains(&col.as_str()) { " (U_ tables get id, tm, updateTm implicitly)" } else { "" };
                return Err(MetaError::new(file, line, format!("@{name}: duplicate column `{col}`{hint}")));
            }
            columns.push(Column { name: col, ty });
        }
        let table = Table { name: name.to_string(), columns, file: file.to_path_buf(), line };
        // Table names are case-insensitive in the database too, so `@ordr` redefines `@Ordr`.
        match self.tables.iter_mut().find(|t| t.name.eq_ignore_ascii_case(name)) {
            Some(old) => {
                log::warn!(
                    "{}:{}: `@{}` is redefined; previous definition at {}:{} is replaced",
                    file.display(),
                    line,
                    name,
                    old.file.display(),
                    old.line
                );
                *old = table;
            }
            None => self.tables.push(table),
        }
        Ok(())
    }

    /// `Table(col1, col2)` of an `@index`/`@unique` line, optionally followed by `sparse`.
    fn add_index(&mut self, unique: bool, spec: &str, file: &Path, line: usize) -> Result<(), MetaError> {
        let bad = || {
            MetaError::new(file, line, format!("bad index `{spec}`: expected `Table(col1, col2)`, optionally `sparse`"))
        };
        let (spec_cols, sparse) = match spec.trim_end().strip_suffix("sparse") {
            Some(s) if s.ends_with([' ', '\t', ')']) => (s.trim_end(), true),
            _ => (spec.trim_end(), false),
        };
        let (table, rest) = spec_cols.split_once('(').ok_or_else(bad)?;
        let cols = rest.strip_suffix(')').ok_or_else(bad)?;
        let table = table.trim().to_string();
        let columns: Vec<String> =
            cols.split([',', '，']).map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
        let word = |s: &str| !s.is_empty() && s.chars().all(is_word_char);
        if !word(&table) || columns.is_empty() || !columns.iter().all(|c| word(c)) {
            return Err(bad());
        }
        let name = format!("{}_{}_{}", prefix(unique, sparse), table, columns.join("_"));
        let ix = Index { name, table, columns, unique, sparse, file: file.to_path_buf(), line };
        let twin = ix.twin_name();
        self.indexes.retain(|i| i.name != ix.name && i.name != twin);
        self.indexes.push(ix);
        Ok(())
    }

    /// Every index must name a table of the design and columns of that table.
    fn check_indexes(&self) -> Result<(), MetaError> {
        for ix in &self.indexes {
            let t =
                self.tables.iter().find(|t| t.name == ix.table).ok_or_else(|| {
                    MetaError::new(&ix.file, ix.line, format!("index on unknown table `{}`", ix.table))
                })?;
            if let Some(c) = ix.columns.iter().find(|c| t.column(c).is_none()) {
                return Err(MetaError::new(&ix.file, ix.line, format!("index on unknown column `{}.{c}`", ix.table)));
            }
        }
        Ok(())
    }

    /// Reads each file `pattern` names, in sorted order, at the point of the include.
    fn include(&mut self, pattern: &str, file: &Path, line: usize) -> Result<(), MetaError> {
        let base = file.parent().unwrap_or(Path::new(""));
        let is_glob = pattern.contains(['*', '?']);
        let paths = if is_glob { expand_glob(base, pattern) } else { vec![base.join(pattern)] };
        if paths.is_empty() {
            // A glob over optional plugins may well match nothing.
            log::debug!("{}:{}: `@include {}` matches no file", file.display(), line, pattern);
        }
        for path in paths {
            if !self.seen.insert(identity(&path)) {
                log::debug!("{}:{}: `{}` is already included", file.display(), line, path.display());
                continue;
            }
            let text = fs::read_to_string(&path).map_err(|e| {
                MetaError::new(file, line, format!("cannot read included file `{}`: {e}", path.display()))
            })?;
            self.parse(&text, &path)?;
        }
        Ok(())
    }
}

/// The file's canonical path when it exists, so `a/../b.md` and `b.md` count as one file.
fn identity(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Matches `^@([\w.]+)[:：]\s+(\w.*?)\s*$` and returns (table name, field text).
fn table_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('@')?;
    let name_len = rest.find(|c: char| !(is_word_char(c) || c == '.')).unwrap_or(rest.len());
    let (name, rest) = rest.split_at(name_len);
    let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))?;
    let fields = rest.trim_start();
    // `\s+`: at least one space after the colon; `\w`: the fields start with a word character.
    if name.is_empty() || fields.len() == rest.len() || !fields.starts_with(is_word_char) {
        return None;
    }
    Some((name, fields.trim_end()))
}

/// Matches `^@(index|unique)\s+(.+)` and returns (unique, spec).
fn index_line(line: &str) -> Option<(bool, &str)> {
    let (unique, rest) = match line.strip_prefix("@index") {
        Some(r) => (false, r),
        None => (true, line.strip_prefix("@unique")?),
    };
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((unique, rest.trim()))
}

/// Matches `^@include\s+(\S+)` and returns the path pattern.
fn include_line(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("@include")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    rest.split_whitespace().next()
}

/// The existing files matching `pattern` (relative to `base` unless absolute), sorted per directory level.
fn expand_glob(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let pattern = Path::new(pattern);
    let components: Vec<Component> = pattern.components().collect();
    let mut current = vec![if pattern.is_absolute() { PathBuf::new() } else { base.to_path_buf() }];
    for (i, comp) in components.iter().enumerate() {
        let last = i + 1 == components.len();
        let part = comp.as_os_str().to_string_lossy();
        if !part.contains(['*', '?']) {
            current = current.into_iter().map(|dir| dir.join(comp.as_os_str())).collect();
            continue;
        }
        let mut next = Vec::new();
        for dir in &current {
            let listed = if dir.as_os_str().is_empty() { Path::new(".") } else { dir.as_path() };
            let Ok(entries) = fs::read_dir(listed) else { continue };
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                // `Path::is_dir` follows symlinks, so a linked plugin directory is searched like a real one.
                .filter(|e| e.path().is_dir() != last)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| glob_match(&part, name))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|name| dir.join(name)));
        }
        current = next;
    }
    current.retain(|p| p.is_file());
    current
}

/// Shell-style match of one path component: `*` any run, `?` one character. As in a shell, a leading `.` must be
/// matched literally, so editor swap files such as `.DESIGN.md.swp` are never included by `*`.
fn glob_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was and how much of the name it has swallowed, to backtrack on a mismatch.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Design {
        match Design::parse_str(text, Path::new("DESIGN.md")) {
            Ok(d) => d,
            Err(e) => panic!("design should parse: {e}"),
        }
    }

    fn names(d: &Design) -> Vec<&str> {
        d.tables.iter().map(|t| t.name.as_str()).collect()
    }

    fn cols(t: &Table) -> Vec<(&str, ColType)> {
        t.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect()
    }

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create test dir");
        }
        fs::write(&path, text).expect("write test file");
        path
    }

    #[test]
    fn a_table_line_declares_a_table_with_typed_columns() {
        let d = parse("# 订单\n\n@Ordr: id, userId, status(2), amount, dscr(l)\n");
        let t = d.table("Ordr").expect("Ordr");
        assert_eq!(
            cols(t),
            [
                ("id", ColType::Id),
                ("userId", ColType::Int),
                ("status", ColType::Varchar(2)),
                ("amount", ColType::Decimal),
                ("dscr", ColType::Varchar(255)),
            ]
        );
        assert_eq!((t.file.as_path(), t.line), (Path::new("DESIGN.md"), 3));
    }

    #[test]
    fn a_full_width_colon_and_trailing_spaces_are_accepted() {
        let d = parse("@Cinf： id, name(s)  \t\n");
        assert_eq!(cols(&d.tables[0]), [("id", ColType::Id), ("name", ColType::Varchar(20))]);
    }

    #[test]
    fn fields_split_on_spaces_commas_and_full_width_commas() {
        let d = parse("@T: a，b , c  d,e,\n");
        let got: Vec<&str> = d.tables[0].columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(got, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn prose_and_indented_lines_are_not_table_lines() {
        let text = "  @A: x\n\t@B: x\nsee @C: x\n@D:x\n@E:   \n@F: ,x\n@: x\n@@G: x\n- @H: x\n";
        assert!(parse(text).tables.is_empty());
    }

    #[test]
    fn index_lines_declare_indexes_on_known_columns() {
        let d = parse("@T: id, userId, tm\n@index T(userId, tm)\n@unique T(tm)\n");
        assert_eq!(d.indexes.len(), 2);
        assert_eq!(d.indexes[0].name, "ix_T_userId_tm");
        assert_eq!(d.indexes[0].columns, ["userId", "tm"]);
        assert!(d.indexes[1].unique);
        let err = |t: &str| Design::parse_str(t, Path::new("D.md")).unwrap_err().msg;
        assert!(err("@T: id\n@index T(nope)\n").contains("unknown column"));
        assert!(err("@index X(id)\n").contains("unknown table"));
        assert!(err("@T: id\n@index T(id; drop)\n").contains("bad index"));
        assert!(err("@T: id\n@index T id\n").contains("bad index"));
        assert!(err("@T: id\n@index T(id) sparsely\n").contains("bad index"));
    }

    #[test]
    fn a_sparse_index_has_a_name_of_its_own_and_knows_its_twin() {
        let d = parse("@T: id, showingId, status, k\n@index T(showingId, status) sparse\n@unique T(k)\tsparse\n");
        assert_eq!(d.indexes.len(), 2);
        assert_eq!((d.indexes[0].name.as_str(), d.indexes[0].sparse), ("sx_T_showingId_status", true));
        assert_eq!(d.indexes[0].twin_name(), "ix_T_showingId_status");
        assert_eq!((d.indexes[1].name.as_str(), d.indexes[1].unique), ("su_T_k", true));
        assert_eq!(d.indexes[1].twin_name(), "ux_T_k");
        // A later declaration of the same columns replaces the earlier one, sparse or not.
        let d = parse("@T: id, k\n@index T(k)\n@index T(k) sparse\n");
        assert_eq!(d.indexes.len(), 1);
        assert!(d.indexes[0].sparse);
        assert_eq!(parse("@T: id, k\n@index T(k)\n").indexes[0].twin_name(), "sx_T_k");
    }

    #[test]
    fn see_and_ver_lines_are_ignored() {
        let d = parse("@see @Store: id, name\n@ver=3\n@T: id\n");
        assert_eq!(names(&d), ["T"]);
    }

    #[test]
    fn lines_inside_code_fences_are_still_table_lines() {
        let d = parse("```\n@T: id, name\n```\n");
        assert_eq!(names(&d), ["T"]);
    }

    #[test]
    fn crlf_line_ends_and_a_byte_order_mark_are_tolerated() {
        let d = parse("\u{feff}@A: id\r\n@B: id, tm\r\n");
        assert_eq!(names(&d), ["A", "B"]);
        assert_eq!(d.tables[1].columns[1].name, "tm");
    }

    #[test]
    fn a_bad_field_names_file_line_and_table() {
        let err = Design::parse_str("\n@T: id, x(q)\n", Path::new("d/DESIGN.md")).expect_err("bad tag");
        assert_eq!((err.file.as_path(), err.line), (Path::new("d/DESIGN.md"), 2));
        assert!(err.msg.contains("@T") && err.msg.contains("(q)"), "{}", err.msg);
        assert!(err.to_string().starts_with("d/DESIGN.md:2: @T"), "{err}");
    }

    #[test]
    fn a_duplicate_column_is_an_error_whatever_its_case() {
        let err = Design::parse_str("@T: id, name, x, Name(s)\n", Path::new("D.md")).expect_err("duplicate");
        assert!(err.msg.contains("duplicate column `Name`"), "{}", err.msg);
    }

    #[test]
    fn a_redefined_table_replaces_the_earlier_one_in_place() {
        let d = parse("@A: id, x\n@B: id\n@A: id, y, z\n");
        assert_eq!(names(&d), ["A", "B"]);
        let a = d.table("A").expect("A");
        assert_eq!(a.columns.len(), 3);
        assert!(a.column("x").is_none() && a.column("y").is_some());
        assert_eq!(a.line, 3);
    }

    #[test]
    fn user_defined_tables_get_id_tm_and_update_tm_first() {
        let d = parse("@U_Car: brand, price\n");
        let got = cols(&d.tables[0]);
        assert_eq!(
            got,
            [
                ("id", ColType::Id),
                ("tm", ColType::DateTime),
                ("updateTm", ColType::DateTime),
                ("brand", ColType::Varchar(50)),
                ("price", ColType::Decimal),
            ]
        );
        let err = Design::parse_str("@U_Car: id, brand\n", Path::new("D.md")).expect_err("id twice");
        assert!(err.msg.contains("implicitly"), "{}", err.msg);
    }

    #[test]
    fn a_table_without_id_is_kept_as_declared() {
        let d = parse("@OrderAtt2: orderId, attId\n");
        assert_eq!(cols(&d.tables[0]), [("orderId", ColType::Int), ("attId", ColType::Int)]);
    }

    #[test]
    fn column_lookup_is_exact() {
        let d = parse("@T: id, userId\n");
        assert!(d.tables[0].column("userId").is_some());
        assert!(d.tables[0].column("userid").is_none());
        assert!(d.table("t").is_none());
    }

    #[test]
    fn includes_resolve_relative_to_the_including_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let main = write(dir.path(), "DESIGN.md", "@A: id\n@include sub/one.md\n@Z: id\n");
        write(dir.path(), "sub/one.md", "@B: id\n@include two.md\n");
        write(dir.path(), "sub/two.md", "@C: id\n");
        write(dir.path(), "two.md", "@WRONG: id\n");
        let d = Design::load(&main).expect("load");
        // Included tables appear where the include line is.
        assert_eq!(names(&d), ["A", "B", "C", "Z"]);
        assert_eq!(d.table("C").map(|t| t.file.clone()), Some(dir.path().join("sub/two.md")));
    }

    #[test]
    fn include_globs_match_files_in_sorted_order_across_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let main = write(dir.path(), "DESIGN.md", "@include plugin/*/DESIGN.wiki\n@include t?.md\n");
        write(dir.path(), "plugin/upload/DESIGN.wiki", "@Upload: id\n");
        write(dir.path(), "plugin/login/DESIGN.wiki", "@Login: id\n");
        write(dir.path(), "plugin/login/other.wiki", "@Other: id\n");
        write(dir.path(), "plugin/.hidden/DESIGN.wiki", "@Hidden: id\n");
        write(dir.path(), "t2.md", "@T2: id\n");
        write(dir.path(), "t1.md", "@T1: id\n");
        write(dir.path(), "t10.md", "@T10: id\n");
        let d = Design::load(&main).expect("load");
        assert_eq!(names(&d), ["Login", "Upload", "T1", "T2"]);
    }

    #[test]
    fn a_glob_matching_nothing_is_fine_but_a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let main = write(dir.path(), "DESIGN.md", "@T: id\n@include plugin/*/DESIGN.wiki\n");
        assert_eq!(names(&Design::load(&main).expect("load")), ["T"]);

        let main = write(dir.path(), "DESIGN.md", "@T: id\n\n@include nowhere.md\n");
        let err = Design::load(&main).expect_err("missing include");
        assert_eq!((err.file.clone(), err.line), (main, 3));
        assert!(err.msg.contains("nowhere.md"), "{}", err.msg);
    }

    #[test]
    fn include_cycles_end_and_each_file_is_read_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let main = write(dir.path(), "DESIGN.md", "@A: id\n@include b.md\n@include *.md\n");
        write(dir.path(), "b.md", "@B: id\n@include DESIGN.md\n@include ./b.md\n@include c.md\n");
        write(
            dir.path(),
            "c.md",
            "@C: id\n@include ../{name}/b.md\n".replace("{name}", &dir_name(dir.path())).as_str(),
        );
        let d = Design::load(&main).expect("load");
        assert_eq!(names(&d), ["A", "B", "C"]);
    }

    fn dir_name(p: &Path) -> String {
        p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    #[test]
    fn an_error_in_an_included_file_names_that_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let main = write(dir.path(), "DESIGN.md", "@include f.md\n");
        let inc = write(dir.path(), "f.md", "text\n@T: a-b\n");
        let err = Design::load(&main).expect_err("bad name");
        assert_eq!((err.file, err.line), (inc, 2));
    }

    #[test]
    fn loading_a_missing_file_is_an_error_at_line_zero() {
        let err = Design::load(Path::new("/nonexistent/DESIGN.md")).expect_err("missing");
        assert_eq!(err.line, 0);
    }

    #[test]
    fn glob_match_follows_shell_rules() {
        assert!(glob_match("*.md", "DESIGN.md"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("a*b*c", "aXXbYbc"));
        assert!(glob_match("t?.md", "t1.md"));
        assert!(!glob_match("t?.md", "t10.md"));
        assert!(!glob_match("*.md", "DESIGN.wiki"));
        assert!(!glob_match("*", ".hidden"));
        assert!(glob_match(".*", ".hidden"));
        assert!(glob_match("设计*", "设计文档.md"));
    }

    #[test]
    fn the_project_design_has_the_seed_and_framework_tables() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("design/DESIGN.md");
        let d = Design::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let expected = [
            "Cinf",
            "Employee",
            "User",
            "Ordr",
            "OrderLog",
            "OrderAtt",
            "Attachment",
            "ApiLog",
            "ApiLog1",
            "ObjLog",
            "Pwd",
            "Session",
            "VCode",
        ];
        for name in expected {
            assert!(d.table(name).is_some(), "table {name} missing from DESIGN.md");
        }
        let ty = |t: &str, c: &str| d.table(t).and_then(|t| t.column(c)).map(|c| c.ty);
        use ColType::*;
        let checks = [
            ("Cinf", "name", Varchar(20)),
            ("Cinf", "value", Text),
            ("Employee", "uname", Varchar(50)),
            ("Employee", "phone", Varchar(20)),
            ("Employee", "perms", Varchar(50)),
            ("User", "createTm", DateTime),
            ("Ordr", "id", Id),
            ("Ordr", "userId", Int),
            ("Ordr", "status", Varchar(2)),
            ("Ordr", "amount", Decimal),
            ("Ordr", "dscr", Varchar(255)),
            ("Ordr", "cmt", Varchar(255)),
            ("OrderLog", "action", Varchar(50)),
            ("OrderLog", "tm", DateTime),
            ("OrderLog", "empId", Int),
            ("OrderAtt", "attId", Int),
            ("Attachment", "path", Varchar(255)),
            ("Attachment", "orgPicId", Int),
            ("Attachment", "exif", Text),
            ("Attachment", "orgName", Varchar(255)),
            ("ApiLog", "ua", Varchar(255)),
            ("ApiLog", "t", Int),
            ("ApiLog", "retval", Int),
            ("ApiLog", "req", Text),
            ("ApiLog", "ressz", Int),
            ("ApiLog", "ver", Varchar(50)),
            ("ApiLog", "serverRev", Varchar(10)),
            ("ApiLog1", "apiLogId", Int),
            ("ObjLog", "objId", Int),
            ("ObjLog", "apiLog1Id", Int),
            ("Pwd", "cnt", Int),
            ("Session", "tokenHash", Varchar(64)),
            ("Session", "userId", Int),
            ("Session", "perms", Varchar(255)),
            ("Session", "expireTm", DateTime),
            ("Session", "revokeTm", DateTime),
            ("VCode", "phone", Varchar(20)),
            ("VCode", "code", Varchar(20)),
            ("VCode", "tries", Int),
            ("VCode", "usedTm", DateTime),
        ];
        for (t, c, want) in checks {
            assert_eq!(ty(t, c), Some(want), "{t}.{c}");
        }
        // Later designs may add tables and columns, so this checks only what the seed and framework promise.
    }
}
