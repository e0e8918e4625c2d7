//! A hall's seat map (`Hall.seatMap`, DESIGN.md 影厅): text, one line per row, one character per cell.
//! `A`-`Z` is a seat of the price class with that code, `_` an aisle, `x` a blocked seat position.
//!
//! Parsing is a plain function so that the hall object, `Showing.add` (which turns the map into seats)
//! and the tests share one reading of the grammar. Numbering follows what a buyer reads on a ticket:
//! rows holding a seat or a blocked position are counted (a row of aisles is a walkway, not a row), and
//! within a row seats and blocked positions are counted from the left (blocking a broken seat must not
//! renumber its neighbours); aisles are never counted.

use crate::error::{ApiError, ApiResult};

/// Largest grid accepted: a stadium block or a large theatre fits; a typo of a thousand lines does not.
pub const MAX_ROWS: usize = 100;
pub const MAX_COLS: usize = 100;

/// One sellable seat of a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatCell {
    /// 1-based grid position (aisles included).
    pub row: usize,
    pub col: usize,
    /// The price class code (`A`-`Z`).
    pub class: char,
    /// Row and seat numbers as printed (`5排12座`).
    pub row_no: usize,
    pub seat_no: usize,
}

impl SeatCell {
    /// The label printed on a ticket.
    pub fn label(&self) -> String {
        format!("{}排{}座", self.row_no, self.seat_no)
    }
}

/// A parsed seat map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatMap {
    pub rows: usize,
    pub cols: usize,
    /// Sellable seats in row-major order.
    pub seats: Vec<SeatCell>,
}

impl SeatMap {
    /// Reads a map. Blank lines and surrounding whitespace are ignored; short lines are padded with
    /// aisles. Errors name the line and column in the text as the editor shows it.
    pub fn parse(text: &str) -> ApiResult<SeatMap> {
        let lines: Vec<(usize, &str)> =
            text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty()).collect();
        if lines.len() > MAX_ROWS {
            return Err(ApiError::param(format!("座位图最多{MAX_ROWS}排, 现有{}排", lines.len())));
        }
        let mut seats = Vec::new();
        let mut cols = 0;
        let mut row_no = 0;
        for (r, (line_no, line)) in lines.iter().enumerate() {
            let n = line.chars().count();
            if n > MAX_COLS {
                return Err(ApiError::param(format!("座位图第{line_no}行有{n}格, 每排最多{MAX_COLS}格")));
            }
            cols = cols.max(n);
            let numbered = line.chars().any(|c| c != '_');
            if numbered {
                row_no += 1;
            }
            let mut seat_no = 0;
            for (c, ch) in line.chars().enumerate() {
                match ch {
                    '_' => {}
                    'x' => seat_no += 1,
                    'A'..='Z' => {
                        seat_no += 1;
                        seats.push(SeatCell { row: r + 1, col: c + 1, class: ch, row_no, seat_no });
                    }
                    other => {
                        return Err(ApiError::param(format!(
                            "座位图第{line_no}行第{}列: 不认识的字符`{other}`(座位用A-Z, 过道用_, 不售用x)",
                            c + 1
                        )))
                    }
                }
            }
        }
        if seats.is_empty() {
            return Err(ApiError::param("座位图中没有座位(座位用A-Z表示, 字母是票价等级)"));
        }
        Ok(SeatMap { rows: lines.len(), cols, seats })
    }

    /// The price class codes used, in alphabetical order, with their seat counts.
    pub fn classes(&self) -> Vec<(char, usize)> {
        let mut out: Vec<(char, usize)> = Vec::new();
        for s in &self.seats {
            match out.iter_mut().find(|(c, _)| *c == s.class) {
                Some((_, n)) => *n += 1,
                None => out.push((s.class, 1)),
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_numbered_by_row_and_position_skipping_aisles_but_not_blocked_seats() {
        let m = SeatMap::parse("AA_AA\n_____\nBxB_B\n").unwrap();
        assert_eq!((m.rows, m.cols), (3, 5));
        let labels: Vec<String> = m.seats.iter().map(|s| s.label()).collect();
        assert_eq!(labels, ["1排1座", "1排2座", "1排3座", "1排4座", "2排1座", "2排3座", "2排4座"]);
        // The walkway row is not a row of seats, but it keeps its place in the grid.
        assert_eq!((m.seats[4].row, m.seats[4].col), (3, 1));
        assert_eq!((m.seats[5].row, m.seats[5].col), (3, 3));
        assert_eq!(m.classes(), vec![('A', 4), ('B', 3)]);
    }

    #[test]
    fn blank_lines_and_indentation_are_ignored_and_short_rows_padded() {
        let m = SeatMap::parse("\n  AAAA  \n\n  AA\n").unwrap();
        assert_eq!((m.rows, m.cols, m.seats.len()), (2, 4, 6));
        assert_eq!(m.seats[5].label(), "2排2座");
    }

    #[test]
    fn an_unknown_character_is_refused_naming_its_line_and_column() {
        let e = SeatMap::parse("AAA\nA?A").unwrap_err();
        assert_eq!(e.code, crate::error::Code::Param);
        assert!(e.msg.contains("第2行第2列") && e.msg.contains('?'), "{}", e.msg);
        assert!(SeatMap::parse("aaa").unwrap_err().msg.contains("第1行第1列"));
    }

    #[test]
    fn a_map_without_seats_or_beyond_the_limits_is_refused() {
        assert!(SeatMap::parse("").is_err());
        assert!(SeatMap::parse("__x__").unwrap_err().msg.contains("没有座位"));
        let wide = "A".repeat(MAX_COLS + 1);
        assert!(SeatMap::parse(&wide).unwrap_err().msg.contains("每排最多"));
        let tall = "A\n".repeat(MAX_ROWS + 1);
        assert!(SeatMap::parse(&tall).unwrap_err().msg.contains("最多100排"));
        assert_eq!(SeatMap::parse(&"A".repeat(MAX_COLS)).unwrap().seats.len(), MAX_COLS);
    }
}
