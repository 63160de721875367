//! Privileges: the `PRIVILEGE_*` vocabulary of seed 003 (Qumulo), plus sessiond's own
//! session privileges. A privilege is an index into one static table, so it is `Copy`,
//! compares cheaply and always names a known privilege.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, RwLock};

use serde_json::value::RawValue;
use std::str::FromStr;

#[path = "privilege_table.rs"]
mod table;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Privilege(u16);

/// A set of privileges, one bit each, iterated in the order the seed lists them. Checking
/// one is a bit test and copying the set copies 32 bytes: every request asks it.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PrivilegeSet {
    bits: [u64; WORDS],
}

const WORDS: usize = 4;
const _: () = assert!(
    table::TABLE.len() <= WORDS * 64,
    "PrivilegeSet is too small"
);

impl PrivilegeSet {
    pub const fn new() -> Self {
        PrivilegeSet { bits: [0; WORDS] }
    }

    pub fn insert(&mut self, p: Privilege) -> bool {
        let (w, b) = (p.0 as usize / 64, p.0 % 64);
        let fresh = self.bits[w] & (1 << b) == 0;
        self.bits[w] |= 1 << b;
        fresh
    }

    pub fn contains(&self, p: &Privilege) -> bool {
        let (w, b) = (p.0 as usize / 64, p.0 % 64);
        self.bits[w] & (1 << b) != 0
    }

    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// In table order, as a `BTreeSet` of them would iterate.
    pub fn iter(&self) -> impl Iterator<Item = Privilege> + '_ {
        let bits = self.bits;
        (0..WORDS).flat_map(move |w| {
            let mut word = bits[w];
            std::iter::from_fn(move || {
                (word != 0).then(|| {
                    let b = word.trailing_zeros();
                    word &= word - 1;
                    Privilege((w * 64) as u16 + b as u16)
                })
            })
        })
    }
}

/// Distinct sets rendered at most; past it the renderings are dropped and made again.
const MAX_RENDERED: usize = 4096;

impl PrivilegeSet {
    /// Only the privileges `keep` accepts.
    pub fn only(&self, keep: fn(Privilege) -> bool) -> PrivilegeSet {
        self.iter().filter(|p| keep(*p)).collect()
    }

    /// The names as a JSON array, rendered once per distinct set and shared: users are
    /// granted a few role combinations, and a rendering per user cost 1.8 KB each (180 MB
    /// for 100,000 users).
    pub fn names_json(&self) -> Arc<RawValue> {
        static RENDERED: LazyLock<RwLock<HashMap<PrivilegeSet, Arc<RawValue>>>> =
            LazyLock::new(Default::default);
        if let Some(r) = RENDERED.read().ok().and_then(|m| m.get(self).cloned()) {
            return r;
        }
        let names: Vec<&str> = self.iter().map(Privilege::as_str).collect();
        let rendered: Arc<RawValue> = serde_json::value::to_raw_value(&names)
            .expect("a list of names serialises")
            .into();
        if let Ok(mut m) = RENDERED.write() {
            if m.len() >= MAX_RENDERED {
                m.clear();
            }
            m.insert(*self, Arc::clone(&rendered));
        }
        rendered
    }
}

impl FromIterator<Privilege> for PrivilegeSet {
    fn from_iter<I: IntoIterator<Item = Privilege>>(iter: I) -> Self {
        let mut set = PrivilegeSet::new();
        set.extend(iter);
        set
    }
}

impl<const N: usize> From<[Privilege; N]> for PrivilegeSet {
    fn from(ps: [Privilege; N]) -> Self {
        ps.into_iter().collect()
    }
}

impl Extend<Privilege> for PrivilegeSet {
    fn extend<I: IntoIterator<Item = Privilege>>(&mut self, iter: I) {
        for p in iter {
            self.insert(p);
        }
    }
}

impl fmt::Debug for PrivilegeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Privilege {
    pub const SESSION_READ: Privilege = Privilege::must("PRIVILEGE_SESSION_READ");
    pub const SESSION_WRITE: Privilege = Privilege::must("PRIVILEGE_SESSION_WRITE");
    pub const SESSION_REPORT: Privilege = Privilege::must("PRIVILEGE_SESSION_REPORT");
    pub const LOCAL_USER_READ: Privilege = Privilege::must("PRIVILEGE_LOCAL_USER_READ");
    pub const LOCAL_USER_WRITE: Privilege = Privilege::must("PRIVILEGE_LOCAL_USER_WRITE");
    pub const LOCAL_GROUP_READ: Privilege = Privilege::must("PRIVILEGE_LOCAL_GROUP_READ");
    pub const LOCAL_GROUP_WRITE: Privilege = Privilege::must("PRIVILEGE_LOCAL_GROUP_WRITE");
    pub const ROLE_READ: Privilege = Privilege::must("PRIVILEGE_ROLE_READ");
    pub const ROLE_WRITE: Privilege = Privilege::must("PRIVILEGE_ROLE_WRITE");
    /// Qumulo: "Read audit settings"; sessiond also guards its audit log with it.
    pub const AUDIT_READ: Privilege = Privilege::must("PRIVILEGE_AUDIT_READ");
    pub const ACCESS_TOKENS_READ: Privilege = Privilege::must("PRIVILEGE_ACCESS_TOKENS_READ");
    pub const ACCESS_TOKENS_WRITE: Privilege = Privilege::must("PRIVILEGE_ACCESS_TOKENS_WRITE");
    pub const IDENTITY_READ: Privilege = Privilege::must("PRIVILEGE_IDENTITY_READ");
    pub const SMB_SESSION_READ: Privilege = Privilege::must("PRIVILEGE_SMB_SESSION_READ");
    pub const SMB_SESSION_WRITE: Privilege = Privilege::must("PRIVILEGE_SMB_SESSION_WRITE");
    pub const APP_READ: Privilege = Privilege::must("PRIVILEGE_APP_READ");
    pub const APP_WRITE: Privilege = Privilege::must("PRIVILEGE_APP_WRITE");
    pub const GET_EXTENDED_USER_INFO: Privilege =
        Privilege::must("PRIVILEGE_GET_EXTENDED_USER_INFO");
    pub const PAM_SESSION_READ: Privilege = Privilege::must("PRIVILEGE_PAM_SESSION_READ");
    pub const GET_EXTENDED_CONTACT_INFO: Privilege =
        Privilege::must("PRIVILEGE_GET_EXTENDED_CONTACT_INFO");
    pub const TOKEN_INTROSPECT: Privilege = Privilege::must("PRIVILEGE_TOKEN_INTROSPECT");
    pub const WEBHOOK_READ: Privilege = Privilege::must("PRIVILEGE_WEBHOOK_READ");
    pub const WEBHOOK_WRITE: Privilege = Privilege::must("PRIVILEGE_WEBHOOK_WRITE");

    /// Looks a name up at compile time; an unknown name fails the build.
    const fn must(name: &str) -> Privilege {
        let mut i = 0;
        while i < table::TABLE.len() {
            if const_eq(table::TABLE[i].0, name) {
                return Privilege(i as u16);
            }
            i += 1;
        }
        panic!("unknown privilege name in sessiond-core");
    }

    pub fn as_str(self) -> &'static str {
        table::TABLE[self.0 as usize].0
    }

    pub fn description(self) -> &'static str {
        table::TABLE[self.0 as usize].1
    }

    pub fn all() -> impl Iterator<Item = Privilege> {
        (0..table::TABLE.len()).map(|i| Privilege(i as u16))
    }

    /// Whether Qumulo's vocabulary (seed 003) has it; sessiond's own session privileges
    /// follow the seed's in the table.
    pub fn is_qumulo(self) -> bool {
        (self.0 as usize) < table::QUMULO_COUNT
    }

    /// Read-only privileges: the ones Observers get.
    pub fn is_read_only(self) -> bool {
        self.as_str().ends_with("_READ")
    }
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown privilege {0:?}")]
pub struct UnknownPrivilege(pub String);

impl FromStr for Privilege {
    type Err = UnknownPrivilege;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        table::TABLE
            .iter()
            .position(|(name, _)| *name == s)
            .map(|i| Privilege(i as u16))
            .ok_or_else(|| UnknownPrivilege(s.to_owned()))
    }
}

impl serde::Serialize for Privilege {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Privilege {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Privilege::all() {
            assert_eq!(p.as_str().parse::<Privilege>().unwrap(), p);
        }
        assert!(Privilege::all().count() >= 126);
    }

    #[test]
    fn sessiond_privileges_are_not_qumulo_ones() {
        assert!(Privilege::LOCAL_USER_READ.is_qumulo());
        assert!(!Privilege::SESSION_READ.is_qumulo());
        assert_eq!(Privilege::all().filter(|p| p.is_qumulo()).count(), 123);
    }

    #[test]
    fn unknown_name_is_rejected() {
        assert!("PRIVILEGE_NOPE".parse::<Privilege>().is_err());
        assert!("privilege_ad_read".parse::<Privilege>().is_err());
    }

    #[test]
    fn a_set_iterates_in_table_order_like_an_ordered_set() {
        let all: Vec<Privilege> = Privilege::all().collect();
        let picked = [
            all[all.len() - 1],
            all[0],
            all[63],
            all[64],
            all[127],
            all[5],
            all[64],
        ];
        let set: PrivilegeSet = picked.iter().copied().collect();
        let ordered: std::collections::BTreeSet<Privilege> = picked.iter().copied().collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            ordered.into_iter().collect::<Vec<_>>()
        );
        assert_eq!(set.len(), 6);
        assert!(set.contains(&all[127]) && !set.contains(&all[1]));
        assert!(PrivilegeSet::new().is_empty());
        let full: PrivilegeSet = Privilege::all().collect();
        assert_eq!(full.iter().collect::<Vec<_>>(), all);
    }

    #[test]
    fn equal_sets_share_one_rendering_of_their_names() {
        let a: PrivilegeSet = [Privilege::SESSION_READ, Privilege::ROLE_READ].into();
        let b: PrivilegeSet = [Privilege::ROLE_READ, Privilege::SESSION_READ].into();
        assert!(Arc::ptr_eq(&a.names_json(), &b.names_json()));
        let names: Vec<String> = serde_json::from_str(a.names_json().get()).unwrap();
        let expected: Vec<String> = a.iter().map(|p| p.as_str().to_owned()).collect();
        assert_eq!(names, expected);
        let qumulo = a.only(Privilege::is_qumulo);
        assert_eq!(
            qumulo.iter().collect::<Vec<_>>(),
            vec![Privilege::ROLE_READ]
        );
    }

    #[test]
    fn every_privilege_is_described() {
        assert!(Privilege::all().all(|p| !p.description().is_empty()));
    }
}
