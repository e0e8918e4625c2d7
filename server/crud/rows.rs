//! The rows of a read in column order: the names once, then each row's values in that order.
//!
//! A map per row cost a copy of every column name and a hash insert per value, a quarter of a
//! 20-row `query`; the default `h/d` output is positional anyway. The formats that print objects
//! (`list`, `array`, `one`, `hash`, a `get`) make them once, at the end.

use serde_json::{Map, Value};

/// Column names and the rows' values in that order (every row has one value per column).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RowSet {
    pub cols: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl RowSet {
    /// Rows with these columns and no rows yet.
    pub fn with_cols(cols: Vec<String>) -> RowSet {
        RowSet { cols, rows: Vec::new() }
    }

    /// The index of a column.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.cols.iter().position(|c| c == name)
    }

    /// Every row's value of a column as an integer (`None` for a missing column or a non-integer).
    pub fn ints(&self, name: &str) -> Vec<Option<i64>> {
        match self.col(name) {
            Some(i) => self.rows.iter().map(|r| r[i].as_i64()).collect(),
            None => vec![None; self.rows.len()],
        }
    }

    /// The column's index, adding it (null in every row) if it is not there yet.
    pub fn add_col(&mut self, name: &str) -> usize {
        if let Some(i) = self.col(name) {
            return i;
        }
        self.cols.push(name.to_string());
        for r in &mut self.rows {
            r.push(Value::Null);
        }
        self.cols.len() - 1
    }

    /// Removes the columns for which `drop(index, name)` is true, from the names and every row.
    pub fn remove_cols(&mut self, drop: impl Fn(usize, &str) -> bool) {
        let keep: Vec<bool> = self.cols.iter().enumerate().map(|(i, c)| !drop(i, c)).collect();
        if keep.iter().all(|k| *k) {
            return;
        }
        let retain = |v: &mut Vec<Value>| {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        };
        let mut i = 0;
        self.cols.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        for r in &mut self.rows {
            retain(r);
        }
    }

    /// Row `i` as an object (a copy).
    pub fn map(&self, i: usize) -> Map<String, Value> {
        self.cols.iter().cloned().zip(self.rows[i].iter().cloned()).collect()
    }

    /// The rows as objects.
    pub fn into_maps(self) -> Vec<Map<String, Value>> {
        let cols = self.cols;
        self.rows.into_iter().map(|r| cols.iter().cloned().zip(r).collect()).collect()
    }
}

/// One row as the `on_handle_row` hook sees it: its values by column name. A value a hook fills in
/// needs a column (declare it as a vcol); the row's shape is that of the whole result.
pub struct Row<'a> {
    cols: &'a [String],
    values: &'a mut [Value],
}

impl<'a> Row<'a> {
    pub fn new(cols: &'a [String], values: &'a mut [Value]) -> Row<'a> {
        Row { cols, values }
    }

    /// The value of a column.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.cols.iter().position(|c| c == name).map(|i| &self.values[i])
    }

    /// The value of a column, to change.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.cols.iter().position(|c| c == name).map(|i| &mut self.values[i])
    }

    /// Sets a column's value; false if the result has no such column.
    pub fn set(&mut self, name: &str, v: Value) -> bool {
        match self.get_mut(name) {
            Some(slot) => {
                *slot = v;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> RowSet {
        RowSet {
            cols: vec!["id".into(), "name".into(), "pwd".into()],
            rows: vec![vec![json!(1), json!("a"), json!("x")], vec![json!(2), json!("b"), json!("y")]],
        }
    }

    #[test]
    fn columns_are_removed_from_the_names_and_every_row() {
        let mut rs = sample();
        rs.remove_cols(|_, c| c == "pwd");
        assert_eq!(rs.cols, ["id", "name"]);
        assert_eq!(rs.rows, vec![vec![json!(1), json!("a")], vec![json!(2), json!("b")]]);
        rs.remove_cols(|i, _| i == 0);
        assert_eq!(rs.cols, ["name"]);
        assert_eq!(rs.rows[1], vec![json!("b")]);
    }

    #[test]
    fn an_added_column_is_null_in_every_row_and_added_once() {
        let mut rs = sample();
        let i = rs.add_col("orderLog");
        assert_eq!((i, rs.add_col("orderLog"), rs.add_col("name")), (3, 3, 1));
        assert!(rs.rows.iter().all(|r| r.len() == 4 && r[3].is_null()));
    }

    #[test]
    fn rows_become_objects_in_column_order() {
        let rs = sample();
        assert_eq!(rs.map(1), json!({"id": 2, "name": "b", "pwd": "y"}).as_object().unwrap().clone());
        let maps = rs.clone().into_maps();
        assert_eq!(maps[0].keys().collect::<Vec<_>>(), ["id", "name", "pwd"]);
        assert_eq!(rs.ints("id"), [Some(1), Some(2)]);
        assert_eq!(rs.ints("nope"), [None, None]);
    }

    #[test]
    fn a_hook_row_reads_and_changes_values_by_name() {
        let mut rs = sample();
        let cols = rs.cols.clone();
        let mut row = Row::new(&cols, &mut rs.rows[0]);
        assert_eq!(row.get("name"), Some(&json!("a")));
        assert!(row.set("name", json!("A")));
        assert!(!row.set("missing", json!(0)));
        assert_eq!(rs.rows[0][1], json!("A"));
    }
}
