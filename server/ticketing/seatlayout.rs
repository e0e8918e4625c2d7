//! The half of `Showing.seats` that never changes, kept per showing in each process.
//!
//! A seat's id, grid position, label and class are written once, when `Showing.add` builds the showing
//! from its hall's map: Seat cannot be added, changed or deleted by any call (DESIGN.md 座位), and ids
//! are never handed out again (AUTOINCREMENT; identity columns on PostgreSQL). So the JSON of each seat
//! up to its state can be kept, and a read of the map then reads only each seat's id and state, in id
//! order, writing the kept text before each state. The ids read are compared one by one with the kept
//! ones, so a seat that appears or disappears under a running process (a database restored, a hand
//! edit) makes that call read every column and keep the new layout; a seat's label or class changed in
//! place by hand is seen after a restart. Nothing has to tell a process about writes, so several
//! processes on one database each keep their own.
//!
//! In a sale the map is the call everyone repeats: reading three columns instead of seven and writing
//! no numbers or labels takes 2.7M instructions instead of 6.0M for 1,000 seats, twice the calls a
//! second (README, Performance).

use std::sync::{Arc, Mutex};

use crate::FastMap;

/// What the kept layouts may take together; a layout bigger than this alone is not kept.
const MAX_BYTES: usize = 8 << 20;

/// The unchanging part of one showing's seat map, in seat id order.
#[derive(Default, Debug)]
pub struct Layout {
    ids: Vec<i64>,
    classes: Vec<i64>,
    /// Every seat's JSON object up to its state's value (`{"id":1,...,"state":"`), one after another.
    text: Vec<u8>,
    /// Where each seat's text ends in `text`.
    ends: Vec<usize>,
}

impl Layout {
    /// Appends a seat (in id order).
    pub fn push(&mut self, id: i64, row: i64, col: i64, label: &str, class: i64) {
        use std::io::Write as _;
        let t = &mut self.text;
        let _ = write!(t, "{{\"id\":{id},\"row\":{row},\"col\":{col},\"label\":");
        let _ = serde_json::to_writer(&mut *t, label);
        let _ = write!(t, ",\"classId\":{class},\"state\":\"");
        self.ends.push(t.len());
        self.ids.push(id);
        self.classes.push(class);
    }

    /// How many seats.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it has no seats (general admission).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of seat `i`, if there is one.
    pub fn id(&self, i: usize) -> Option<i64> {
        self.ids.get(i).copied()
    }

    /// The class of seat `i`.
    pub fn class(&self, i: usize) -> i64 {
        self.classes[i]
    }

    /// The length of the text [`Layout::write`] gives for every seat, states included (at most).
    pub fn text_len(&self) -> usize {
        // `"sold"}` / `"held"}` / `"free"}` and a comma a seat.
        self.text.len() + self.len() * 7
    }

    /// Writes seat `i` with `state` to `out`, after a comma unless it is the first.
    pub fn write(&self, out: &mut Vec<u8>, i: usize, state: &str) {
        if i > 0 {
            out.push(b',');
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        out.extend_from_slice(&self.text[start..self.ends[i]]);
        out.extend_from_slice(state.as_bytes());
        out.extend_from_slice(b"\"}");
    }

    /// What it holds in memory, roughly.
    fn bytes(&self) -> usize {
        self.text.capacity() + (self.ids.capacity() + self.classes.capacity() + self.ends.capacity()) * 8
    }
}

/// The layouts kept, by showing id; shared by the roles' `Showing` objects of one application.
#[derive(Default)]
pub struct Layouts {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    map: FastMap<i64, Arc<Layout>>,
    bytes: usize,
}

impl Layouts {
    /// The layout kept for `showing`.
    pub fn get(&self, showing: i64) -> Option<Arc<Layout>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).map.get(&showing).cloned()
    }

    /// Keeps `layout` for `showing` in place of any earlier one, leaving out others (any) until all fit
    /// in [`MAX_BYTES`].
    pub fn keep(&self, showing: i64, layout: Layout) {
        let size = layout.bytes();
        if size > MAX_BYTES {
            return;
        }
        let mut k = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = k.map.remove(&showing) {
            k.bytes -= old.bytes();
        }
        while k.bytes + size > MAX_BYTES {
            let Some(&other) = k.map.keys().next() else { break };
            if let Some(old) = k.map.remove(&other) {
                k.bytes -= old.bytes();
            }
        }
        k.bytes += size;
        k.map.insert(showing, Arc::new(layout));
    }

    /// How many layouts are kept and their bytes (tests).
    pub fn stats(&self) -> (usize, usize) {
        let k = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        (k.map.len(), k.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(ids: &[i64]) -> Layout {
        let mut l = Layout::default();
        for &id in ids {
            l.push(id, 1, id, &format!("1排{id}座"), 7);
        }
        l
    }

    #[test]
    fn each_seat_is_written_as_the_full_object_with_the_state_given_now() {
        let mut l = layout(&[3, 4]);
        l.push(9, 2, 1, "V\"I\"P", 8);
        let mut out = b"[".to_vec();
        for (i, st) in ["free", "sold", "held"].iter().enumerate() {
            l.write(&mut out, i, st);
        }
        out.push(b']');
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"id": 3, "row": 1, "col": 3, "label": "1排3座", "classId": 7, "state": "free"},
                {"id": 4, "row": 1, "col": 4, "label": "1排4座", "classId": 7, "state": "sold"},
                {"id": 9, "row": 2, "col": 1, "label": "V\"I\"P", "classId": 8, "state": "held"},
            ])
        );
        assert_eq!((l.len(), l.id(2), l.id(3), l.class(2)), (3, Some(9), None, 8));
    }

    #[test]
    fn layouts_are_replaced_per_showing_and_others_give_way_to_stay_within_the_bound() {
        let kept = Layouts::default();
        kept.keep(1, layout(&[1, 2]));
        kept.keep(1, layout(&[5, 6, 7]));
        assert_eq!(kept.get(1).unwrap().len(), 3, "a new layout replaces the old one");
        assert_eq!(kept.stats().0, 1);
        // Layouts of 20,000 seats each (about 1.5 MB): the bound holds a few of them, never more.
        let big: Vec<i64> = (1..=20_000).collect();
        for showing in 2..40 {
            kept.keep(showing, layout(&big));
            let (n, bytes) = kept.stats();
            assert!(bytes <= MAX_BYTES && n >= 1, "{n} layouts, {bytes} bytes");
        }
        assert!(kept.get(39).is_some(), "the layout just kept is there");
        let (n, bytes) = kept.stats();
        let sizes: usize = (1..40).filter_map(|s| kept.get(s)).map(|l| l.bytes()).sum();
        assert_eq!(sizes, bytes, "the byte count is what the {n} kept layouts hold");
        // One layout bigger than the bound is not kept at all.
        let huge: Vec<i64> = (1..=300_000).collect();
        kept.keep(99, layout(&huge));
        assert!(kept.get(99).is_none());
    }
}
