//! The arithmetic of selling train seats per segment (DESIGN.md 火车): stops 0..n, segment i is stop i to
//! stop i+1 and bit i of a seat's masks; a trip s→e uses bits s..e-1. Also the fare rule, seat choice
//! (neighbours in one carriage where possible) and the GB 11643 check digit of resident ID numbers.
//! Plain functions, tested here; the SQL uses the same masks (`(sold | held) & mask = 0`).

/// Most stops a train may have: 63 segments fit the bits of an i64 (the sign bit unused).
pub const MAX_STOPS: usize = 63;

/// The segments of a trip from stop `s` to stop `e` (s < e ≤ MAX_STOPS - 1) as bits s..e-1.
pub fn mask(s: usize, e: usize) -> i64 {
    debug_assert!(s < e && e < MAX_STOPS + 1);
    let ones = |n: usize| if n >= 63 { i64::MAX } else { (1i64 << n) - 1 };
    ones(e) & !ones(s)
}

/// True when a seat with these sold and held masks is free for the trip's mask.
pub fn is_free(sold: i64, held: i64, trip: i64) -> bool {
    (sold | held) & trip == 0
}

/// Cents rounded up to the next half yuan (the railway's 0.5 元 rounding).
pub fn round_up_half_yuan(cents: i64) -> i64 {
    (cents + 49) / 50 * 50
}

/// The fare by distance where no Fare row exists: per km 0.46 (二等), 0.74 (一等), 1.46 (商务) yuan, rounded up
/// to half a yuan, at least 5 yuan.
pub fn fare_by_km(km: i64, class: &str) -> i64 {
    let per_km_cents_x100 = match class {
        "SW" => 14_600,
        "ZY" => 7_400,
        _ => 4_600,
    };
    round_up_half_yuan((km.max(0) * per_km_cents_x100 + 99) / 100).max(500)
}

/// A passenger's price: children half, students 75%, both rounded up to half a yuan.
pub fn passenger_price(cents: i64, kind: &str) -> i64 {
    match kind {
        "CH" => round_up_half_yuan(cents / 2),
        "ST" => round_up_half_yuan(cents * 3 / 4),
        _ => cents,
    }
}

/// A free seat as seat choice sees it: (carriage id, order in the carriage, seat id).
pub type FreeSeat = (i64, i64, i64);

/// Chooses `n` seats: `n` consecutive free seats of one carriage if any carriage has them, else the `n`
/// seats of the carriage with most free seats first, then the next. `free` in carriage and seat order.
pub fn pick_seats(free: &[FreeSeat], n: usize) -> Vec<i64> {
    if n == 0 || free.len() < n {
        return Vec::new();
    }
    // Consecutive in one carriage: a window of n whose seat orders follow each other.
    for w in free.windows(n) {
        let same = w.iter().all(|x| x.0 == w[0].0);
        let adjacent = w.windows(2).all(|p| p[1].1 == p[0].1 + 1);
        if same && adjacent {
            return w.iter().map(|x| x.2).collect();
        }
    }
    // Else together in one carriage, if one has enough.
    let mut carriages: Vec<i64> = free.iter().map(|x| x.0).collect();
    carriages.dedup();
    for c in &carriages {
        let seats: Vec<i64> = free.iter().filter(|x| x.0 == *c).map(|x| x.2).collect();
        if seats.len() >= n {
            return seats.into_iter().take(n).collect();
        }
    }
    free.iter().take(n).map(|x| x.2).collect()
}

/// GB 11643-1999: 17 digits and a check character (`0`-`9` or `X`) over the weighted sum mod 11.
pub fn id_number_ok(id: &str) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17].iter().zip(W).map(|(d, w)| (d - b'0') as u32 * w).sum();
    b[17].to_ascii_uppercase() == CHECK[(sum % 11) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trip_uses_the_segments_between_its_stops() {
        assert_eq!(mask(0, 1), 0b1, "a single segment");
        assert_eq!(mask(0, 3), 0b111, "A to D over B and C");
        assert_eq!(mask(2, 3), 0b100, "the last segment of a four-stop train");
        assert_eq!(mask(1, 3), 0b110);
        assert_eq!(mask(0, 62), i64::MAX >> 1, "the longest train");
        assert_eq!(mask(61, 62), 1 << 61);
    }

    #[test]
    fn selling_a_to_c_leaves_c_to_d_free_but_not_b_to_d() {
        // Stops A B C D = 0 1 2 3.
        let sold = mask(0, 2);
        assert!(is_free(sold, 0, mask(2, 3)), "C→D starts where A→C ends");
        assert!(!is_free(sold, 0, mask(1, 3)), "B→D shares B→C");
        assert!(!is_free(sold, 0, mask(0, 3)), "the full length");
        assert!(!is_free(0, mask(1, 2), mask(0, 3)), "a hold blocks like a sale");
        assert!(is_free(mask(0, 1), mask(2, 3), mask(1, 2)), "the middle between a sale and a hold");
    }

    #[test]
    fn fares_follow_distance_and_passenger_kind_in_half_yuan_steps() {
        assert_eq!(fare_by_km(1318, "ZE"), 60_650, "Beijing-Shanghai second class: 0.46 x 1318 = 606.28 -> 606.50");
        assert_eq!(fare_by_km(1318, "ZY"), 97_550);
        assert_eq!(fare_by_km(5, "ZE"), 500, "at least 5 yuan");
        assert_eq!(passenger_price(60_650, "CH"), 30_350);
        assert_eq!(passenger_price(60_650, "ST"), 45_500);
        assert_eq!(passenger_price(60_650, "AD"), 60_650);
        assert_eq!(round_up_half_yuan(1), 50);
        assert_eq!(round_up_half_yuan(50), 50);
    }

    #[test]
    fn seats_are_chosen_next_to_each_other_in_one_carriage_where_possible() {
        // Carriage 1 has free seats 1, 2, 4, 5, 6 (3 is taken); carriage 2 has 1, 2.
        let free = [(1, 1, 11), (1, 2, 12), (1, 4, 14), (1, 5, 15), (1, 6, 16), (2, 1, 21), (2, 2, 22)];
        assert_eq!(pick_seats(&free, 3), vec![14, 15, 16]);
        assert_eq!(pick_seats(&free, 2), vec![11, 12]);
        let scattered = [(1, 1, 11), (1, 3, 13), (2, 1, 21)];
        assert_eq!(pick_seats(&scattered, 2), vec![11, 13], "one carriage before neighbours across two");
        assert_eq!(pick_seats(&[(1, 1, 11), (2, 1, 21)], 2), vec![11, 21]);
        assert!(pick_seats(&scattered, 4).is_empty());
    }

    #[test]
    fn resident_id_numbers_carry_a_gb_11643_check_digit() {
        assert!(id_number_ok("11010519491231002X"), "the standard's example");
        assert!(id_number_ok("11010519491231002x"));
        assert!(!id_number_ok("110105194912310021"));
        assert!(!id_number_ok("1101051949123100"));
        assert!(!id_number_ok("11010519491231002Y"));
        assert!(id_number_ok("440524188001010014"));
    }
}
