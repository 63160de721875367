//! Test support (feature `test-support`): a private OpenLDAP `slapd` (Debian's `slapd` and
//! `ldap-utils`, which scripts/test installs) on a loopback port, with its own
//! configuration and database, for the tests of every crate that meets a directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ROOT_DN: &str = "cn=admin,dc=example,dc=test";
pub const ROOT_PW: &str = "directory-root-secret";
pub const PEOPLE: &str = "ou=people,dc=example,dc=test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("no free loopback port")
        .port()
}

/// A private slapd: its configuration, database and port are the test's own.
pub struct Slapd {
    child: Option<Child>,
    dir: PathBuf,
    /// Plain `ldap://127.0.0.1:PORT` (StartTLS is offered when TLS files are configured).
    pub url: String,
}

impl Slapd {
    pub fn start(dir: &Path, tls: Option<(&Path, &Path)>) -> Slapd {
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let port = free_port();
        let mut conf = String::new();
        for schema in ["core", "cosine", "inetorgperson", "nis"] {
            conf += &format!("include /etc/ldap/schema/{schema}.schema\n");
        }
        conf += &format!(
            "modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {d}/slapd.pid\n",
            d = dir.display()
        );
        if let Some((cert, key)) = tls {
            conf += &format!(
                "TLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                cert.display(),
                key.display()
            );
        }
        conf += &format!(
            "database mdb\nmaxsize 10485760\nsuffix \"dc=example,dc=test\"\nrootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PW}\ndirectory {d}/db\n\
             access to attrs=userPassword by self write by anonymous auth by * none\n\
             access to * by users read by anonymous read\n",
            d = dir.display()
        );
        std::fs::write(dir.join("slapd.conf"), conf).unwrap();
        let mut s = Slapd {
            child: None,
            dir: dir.to_owned(),
            url: format!("ldap://127.0.0.1:{port}"),
        };
        s.up();
        s
    }

    pub fn up(&mut self) {
        let child = Command::new("/usr/sbin/slapd")
            .args(["-d", "0", "-h", &format!("{}/", self.url), "-f"])
            .arg(self.dir.join("slapd.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start slapd (scripts/test installs Debian's slapd)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let probe = Command::new("ldapsearch")
                .args(["-x", "-H", &self.url, "-b", "", "-s", "base", "-LLL"])
                .output()
                .expect("cannot run ldapsearch (ldap-utils)");
            // 255: cannot contact; anything else is an answer.
            if probe.status.code() != Some(255) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "slapd did not come up on {}",
                self.url
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// `ldapadd` (or `ldapmodify`) as the directory's root.
    pub fn ldif(&self, tool: &str, ldif: &str) {
        let mut child = Command::new(tool)
            .args(["-x", "-H", &self.url, "-D", ROOT_DN, "-w", ROOT_PW])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{tool} failed: {}\n{ldif}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The base entries, `people` (uid, given name, surname; password `UID-directory-pw`)
    /// and `groups` (name, member uid), as the directory's root.
    pub fn seed(&self, people: &[(&str, &str, &str)], groups: &[(&str, &str)]) {
        let mut ldif = String::from(
            "dn: dc=example,dc=test\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
             dn: ou=people,dc=example,dc=test\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: ou=groups,dc=example,dc=test\nobjectClass: organizationalUnit\nou: groups\n\n",
        );
        for (uid, given, sn) in people {
            ldif += &format!(
                "dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {sn}\n\
                 givenName: {given}\nsn: {sn}\ndisplayName: {given} {sn}\nmail: {uid}@example.test\n\
                 userPassword: {uid}-directory-pw\n\n"
            );
        }
        for (group, member) in groups {
            ldif += &format!(
                "dn: cn={group},ou=groups,dc=example,dc=test\nobjectClass: groupOfNames\ncn: {group}\n\
                 member: uid={member},{PEOPLE}\n\n"
            );
        }
        self.ldif("ldapadd", &ldif);
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.down();
    }
}
