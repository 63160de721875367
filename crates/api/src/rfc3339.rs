//! RFC 3339 times, as `time::serde::rfc3339` writes and reads them, but written from a buffer
//! on the stack: `time`'s own serializer formats each time into a new `String`, six
//! allocations on every native who-am-i.

use serde::{ser::Error as _, Deserializer, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Longer than any RFC 3339 time `time` writes (`9999-12-31T23:59:59.999999999-23:59`).
const MAX: usize = 64;

pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; MAX];
    let n = match utc(t, &mut buf) {
        Some(n) => n,
        None => {
            let mut rest = &mut buf[..];
            t.format_into(&mut rest, &Rfc3339)
                .map_err(S::Error::custom)?;
            // Measured by what is left: `format_into`'s own count falls short for fractions.
            MAX - rest.len()
        }
    };
    s.serialize_str(std::str::from_utf8(&buf[..n]).map_err(S::Error::custom)?)
}

/// The common case, a UTC time of years 0 to 9999, written digit by digit, byte for byte
/// what `time` writes (the tests compare them). `time`'s general formatter took about a
/// fifth of a native who-am-i's CPU in process (it writes five times).
fn utc(t: &OffsetDateTime, buf: &mut [u8; MAX]) -> Option<usize> {
    let year = t.year();
    if !t.offset().is_utc() || !(0..=9999).contains(&year) {
        return None;
    }
    let (hour, minute, second, nanos) = t.to_hms_nano();
    buf[..20].copy_from_slice(b"0000-00-00T00:00:00.");
    put(buf, 0, year as u32, 4);
    put(buf, 5, u32::from(u8::from(t.month())), 2);
    put(buf, 8, u32::from(t.day()), 2);
    put(buf, 11, u32::from(hour), 2);
    put(buf, 14, u32::from(minute), 2);
    put(buf, 17, u32::from(second), 2);
    let mut n = 19;
    if nanos != 0 {
        // The fraction without its trailing zeros.
        let (mut frac, mut width) = (nanos, 9);
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        put(buf, 20, frac, width);
        n = 20 + width;
    }
    buf[n] = b'Z';
    Some(n + 1)
}

/// `value` in decimal, `width` digits with leading zeros, at `at`.
fn put(buf: &mut [u8; MAX], at: usize, mut value: u32, width: usize) {
    for i in (at..at + width).rev() {
        buf[i] = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    time::serde::rfc3339::deserialize(d)
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&Time(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        time::serde::rfc3339::option::deserialize(d)
    }

    struct Time(OffsetDateTime);

    impl serde::Serialize for Time {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::serialize(&self.0, s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Ours {
        #[serde(with = "crate::rfc3339")]
        at: OffsetDateTime,
        #[serde(with = "crate::rfc3339::option")]
        maybe: Option<OffsetDateTime>,
        #[serde(with = "crate::rfc3339::option")]
        none: Option<OffsetDateTime>,
    }

    #[derive(serde::Serialize)]
    struct Theirs {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339::option")]
        maybe: Option<OffsetDateTime>,
        #[serde(with = "time::serde::rfc3339::option")]
        none: Option<OffsetDateTime>,
    }

    #[test]
    fn writes_what_time_writes() {
        for t in [
            OffsetDateTime::UNIX_EPOCH,
            time::macros::datetime!(2026-11-29 09:20:01.123456789 UTC),
            time::macros::datetime!(9999-12-31 23:59:59.999999999 -23:59),
            time::macros::datetime!(2024-02-29 00:00:00.5 +05:30),
            time::macros::datetime!(0000-01-01 00:00:00.000000001 UTC),
            time::macros::datetime!(2026-11-29 09:20:01.1 UTC),
            time::macros::datetime!(2026-11-29 09:20:01.000010 UTC),
        ]
        .into_iter()
        .chain((0..2_000u64).flat_map(|i| {
            // Spread over 0001..9999 with every kind of fraction and offset.
            let x = i
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let secs = (x % 315_537_897_599) as i64 - 62_135_596_800;
            let nanos =
                (x >> 20) % 1_000_000_000 / [1, 1_000, 1_000_000, 100_000_000][(i % 4) as usize];
            let offset = time::UtcOffset::from_whole_seconds(
                ((x >> 40) % 86_000) as i32 - 43_000 - (((x >> 40) % 86_000) as i32 - 43_000) % 60,
            )
            .unwrap();
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap()
                + time::Duration::nanoseconds(nanos as i64);
            // Each one in UTC (written by hand) and at an offset (written by `time`).
            [t, t.to_offset(offset)]
        }))
        .filter(|t| (1..=9999).contains(&t.year()))
        {
            let ours = serde_json::to_string(&Ours {
                at: t,
                maybe: Some(t),
                none: None,
            })
            .unwrap();
            let theirs = serde_json::to_string(&Theirs {
                at: t,
                maybe: Some(t),
                none: None,
            })
            .unwrap();
            assert_eq!(ours, theirs);
        }
    }
}
