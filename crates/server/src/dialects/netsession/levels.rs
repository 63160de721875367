//! The `SESSION_INFO_*` structures, by level, with Windows' field names, and the buffer size
//! each entry takes (for `prefmaxlen` paging).

use serde::Serialize;
use sessiond_core::model::Session;
use time::OffsetDateTime;

use crate::sized_json::Concat;

pub const LEVELS: [u32; 5] = [0, 1, 2, 10, 502];

/// Whether a level needs Administrators or Server Operators.
pub fn is_detailed(level: u32) -> bool {
    matches!(level, 1 | 2 | 502)
}

/// The client name as Windows shows it: with `\\`.
pub fn unc(client: &str) -> String {
    format!("\\\\{client}")
}

/// `unc` written straight into the answer: an Enum answer holds hundreds of them.
type Unc<'a> = Concat<'a, 2>;

fn seconds(from: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (now - from).whole_seconds().max(0)
}

/// One session at some level, times in seconds. Typed rather than built as a JSON value:
/// an Enum answer holds hundreds of them. Fields are in alphabetical order, the order the
/// answers always had.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Info<'a> {
    L0 {
        sesi0_cname: Unc<'a>,
    },
    L1 {
        sesi1_cname: Unc<'a>,
        sesi1_idle_time: i64,
        sesi1_num_opens: i64,
        sesi1_time: i64,
        sesi1_user_flags: i64,
        sesi1_username: &'a str,
    },
    L2 {
        sesi2_cltype_name: &'a str,
        sesi2_cname: Unc<'a>,
        sesi2_idle_time: i64,
        sesi2_num_opens: i64,
        sesi2_time: i64,
        sesi2_user_flags: i64,
        sesi2_username: &'a str,
    },
    L10 {
        sesi10_cname: Unc<'a>,
        sesi10_idle_time: i64,
        sesi10_time: i64,
        sesi10_username: &'a str,
    },
    L502 {
        sesi502_cltype_name: &'a str,
        sesi502_cname: Unc<'a>,
        sesi502_idle_time: i64,
        sesi502_num_opens: i64,
        sesi502_time: i64,
        sesi502_transport: &'a str,
        sesi502_user_flags: i64,
        sesi502_username: &'a str,
    },
}

/// One session at `level`, times in seconds; `last_active` is its live activity.
pub fn info<'a>(
    level: u32,
    s: &'a Session,
    username: &'a str,
    last_active: OffsetDateTime,
    now: OffsetDateTime,
) -> Info<'a> {
    let cname = Concat(["\\\\", &s.client_name]);
    let time = seconds(s.login_time, now);
    let idle = seconds(last_active, now);
    match level {
        0 => Info::L0 { sesi0_cname: cname },
        1 => Info::L1 {
            sesi1_cname: cname,
            sesi1_idle_time: idle,
            sesi1_num_opens: s.num_opens,
            sesi1_time: time,
            sesi1_user_flags: s.user_flags,
            sesi1_username: username,
        },
        2 => Info::L2 {
            sesi2_cltype_name: &s.client_type,
            sesi2_cname: cname,
            sesi2_idle_time: idle,
            sesi2_num_opens: s.num_opens,
            sesi2_time: time,
            sesi2_user_flags: s.user_flags,
            sesi2_username: username,
        },
        10 => Info::L10 {
            sesi10_cname: cname,
            sesi10_idle_time: idle,
            sesi10_time: time,
            sesi10_username: username,
        },
        _ => Info::L502 {
            sesi502_cltype_name: &s.client_type,
            sesi502_cname: cname,
            sesi502_idle_time: idle,
            sesi502_num_opens: s.num_opens,
            sesi502_time: time,
            sesi502_transport: s.transport.as_deref().unwrap_or_default(),
            sesi502_user_flags: s.user_flags,
            sesi502_username: username,
        },
    }
}

/// Bytes one entry takes in a Windows (x64) buffer: the structure, then its strings in
/// UTF-16 with their terminators.
pub fn entry_size(level: u32, s: &Session, username: &str) -> i64 {
    let wide = |t: &str| (t.encode_utf16().count() as i64 + 1) * 2;
    // The name and `\\` before it, two UTF-16 units.
    let cname = wide(&s.client_name) + 4;
    match level {
        0 => 8 + cname,
        1 => 32 + cname + wide(username),
        2 => 40 + cname + wide(username) + wide(&s.client_type),
        10 => 24 + cname + wide(username),
        _ => {
            48 + cname
                + wide(username)
                + wide(&s.client_type)
                + wide(s.transport.as_deref().unwrap_or(""))
        }
    }
}
